"""Nesting depth of JSON text, counted without parsing it."""

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.nesting import nests_deeper_than

_TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\n\x00é', max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_TRICKY_TEXT, children, max_size=3)
    ),
    max_leaves=30,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_JSON, st.integers(min_value=0, max_value=8), st.booleans())
def test_agrees_with_the_parsed_depth(value: Any, limit: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert nests_deeper_than(text, limit) == (_depth(value) > limit)


def test_brackets_inside_strings_do_not_count() -> None:
    assert not nests_deeper_than(json.dumps({"a": "[[[[{{{{" * 10}), 1)


def test_ten_thousand_levels_are_found_without_recursion() -> None:
    assert nests_deeper_than("[" * 10_000 + "]" * 10_000, 32)


def test_an_unterminated_string_hides_nothing_after_its_quote() -> None:
    assert not nests_deeper_than('"' + "[" * 100, 32)


def test_many_unterminated_strings_scan_in_linear_time() -> None:
    assert not nests_deeper_than('"\\"' * 30_000, 32)
