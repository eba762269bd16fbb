"""Worker process setup: the Dramatiq broker and the middleware every actor runs under."""
