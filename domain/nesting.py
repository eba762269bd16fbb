"""How deeply a JSON text nests, found without parsing it.

Python's JSON parser recurses once per level, so a small body of brackets
exhausts the stack. Counting the brackets outside strings first is linear, needs
no recursion, and stops at the first level past the limit.
"""

import re

# A string literal, escapes included (an unterminated one runs to the end of the
# text, so no position is scanned twice), or a bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def nests_deeper_than(text: str, limit: int) -> bool:
    """True when arrays and objects in `text` nest more than `limit` levels deep."""
    depth = 0
    for token in _TOKEN.finditer(text):
        first = text[token.start()]
        if first in "[{":
            depth += 1
            if depth > limit:
                return True
        elif first in "]}":
            depth -= 1
    return False
