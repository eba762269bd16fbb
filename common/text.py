"""Text every store takes: Postgres `text` holds no NUL, and Redis and Postgres take UTF-8 only."""


def storable(text: str) -> bool:
    """Whether `text` has no NUL and no lone surrogate (which cannot be UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
