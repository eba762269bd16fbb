"""`python -m web`: serve the HTTP API (see web/server.py)."""

from web.server import main

if __name__ == "__main__":
    main()
