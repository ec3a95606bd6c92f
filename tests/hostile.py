"""Hypothesis strategies for hostile input that is still well-formed JSON (import as
`from hostile import ...`): lone surrogates, huge numerals, deep nesting, non-ASCII digits.

A hostile value is raw JSON text (a numeral of 5,000 digits cannot be a Python value that
json.dumps writes back), so bodies are built as text: `body_with(document, path, raw)` puts the
raw token at a dotted path of an otherwise valid document.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from hypothesis import strategies as st

PLACEHOLDER = "\x00hostile\x00"
# Decimal digits other than 0-9 (Arabic-Indic, Devanagari, fullwidth, ...) and characters that
# str.isdigit() accepts but int() refuses (superscripts, circled digits).
UNICODE_DIGITS = "".join(
    c for c in map(chr, range(0x80, 0x10000)) if c.isdigit() or unicodedata.category(c) == "Nd"
)
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)


@st.composite
def surrogate_text(draw: st.DrawFn) -> str:
    """Text (possibly empty) with at least one lone surrogate somewhere in it."""
    base = draw(st.text(max_size=20))
    at = draw(st.integers(0, len(base)))
    return base[:at] + draw(SURROGATES) + base[at:]


def surrogate_json() -> st.SearchStrategy[str]:
    """A JSON string literal holding a lone surrogate (json.dumps escapes it as \\udXXX)."""
    return surrogate_text().map(json.dumps)


@st.composite
def huge_numeral(draw: st.DrawFn) -> str:
    """A JSON number with hundreds to thousands of digits, or a huge exponent."""
    digits = draw(st.integers(101, 6000))
    head = draw(st.sampled_from("123456789"))
    body = head + "9" * (digits - 1)
    shape = draw(st.sampled_from(["int", "negative", "fraction", "exponent"]))
    if shape == "negative":
        return "-" + body
    if shape == "fraction":
        return body + "." + "5" * draw(st.integers(1, 50))
    if shape == "exponent":
        return "1e" + body[: draw(st.integers(4, 400))]
    return body


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    """Arrays or objects nested 65 to 6,000 levels deep."""
    depth = draw(st.integers(65, 6000))
    if draw(st.booleans()):
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def unicode_digit_text(draw: st.DrawFn, template: str = "C#") -> str:
    """`template` with each `#` a non-ASCII digit ("C³", "٢٠٢٦-W٠١"...)."""
    return "".join(draw(st.sampled_from(UNICODE_DIGITS)) if ch == "#" else ch for ch in template)


def hostile_json() -> st.SearchStrategy[str]:
    """Any of the hostile classes, as raw JSON text."""
    return st.one_of(
        surrogate_json(),
        huge_numeral(),
        deep_nesting(),
        unicode_digit_text("C#").map(json.dumps),
        unicode_digit_text("####").map(json.dumps),
    )


def leaf_paths(document: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every scalar (and empty container) in a JSON document."""
    if isinstance(document, dict) and document:
        return [p for k, v in document.items() for p in leaf_paths(v, _join(prefix, k))]
    if isinstance(document, list) and document:
        return [p for i, v in enumerate(document) for p in leaf_paths(v, _join(prefix, i))]
    return [prefix] if prefix else []


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def body_with(document: Any, path: str, raw: str) -> str:
    """JSON text of `document` with the value at `path` replaced by the raw JSON `raw`."""
    copy = json.loads(json.dumps(document))
    *parents, last = path.split(".")
    node = copy
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = PLACEHOLDER
    else:
        node[last] = PLACEHOLDER
    text = json.dumps(copy, ensure_ascii=False)
    return text.replace(json.dumps(PLACEHOLDER, ensure_ascii=False), raw, 1)
