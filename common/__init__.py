"""Infrastructure shared by every process: settings, logging, identifiers, PII protection."""
