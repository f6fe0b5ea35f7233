"""What IAM reads from a policy document's text beyond its meaning (the policy engine's ``access/policy``
parses that): where each statement's braces sit (MatchedStatements' StartPosition/EndPosition in the
simulator) and which context keys its statements reference (GetContextKeysFor*Policy). Pure
functions of the text; no operations, no database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

# ------------------------------------------------------------------------------------------------
# statement positions in a document's text


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_spans(text: str) -> list[tuple[int, int]] | None:
    """(offset of '{', offset of '}') of each statement of a policy document's text, in order;
    None when the text is not a JSON object with a Statement member."""
    decoder = json.JSONDecoder()
    try:
        i = _skip_ws(text, 0)
        if i >= len(text) or text[i] != "{":
            return None
        i = _skip_ws(text, i + 1)
        found: list[tuple[int, int]] | None = None
        while i < len(text) and text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = _skip_ws(text, i)
            if text[i] != ":":
                return None
            start = _skip_ws(text, i + 1)
            _, end = decoder.raw_decode(text, start)
            if key == "Statement":  # the last one wins, as in json.loads
                found = _element_spans(text, start, end, decoder)
            i = _skip_ws(text, end)
            if i < len(text) and text[i] == ",":
                i = _skip_ws(text, i + 1)
        return found
    except (ValueError, IndexError):
        return None


def _element_spans(text: str, start: int, end: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    if text[start] == "{":
        return [(start, end - 1)]
    spans = []
    i = _skip_ws(text, start + 1)
    while i < end - 1:
        _, stop = decoder.raw_decode(text, i)
        spans.append((i, stop - 1))
        i = _skip_ws(text, stop)
        if text[i] == ",":
            i = _skip_ws(text, i + 1)
    return spans


def position(text: str, offset: int) -> dict[str, int]:
    line_start = text.rfind("\n", 0, offset) + 1
    return {"Line": text.count("\n", 0, offset) + 1, "Column": offset - line_start + 2}


# ------------------------------------------------------------------------------------------------
# context keys


_VAR = re.compile(r"\$\{([^}]*)\}")


def policy_variables(values: Any) -> Iterable[str]:
    for v in values if isinstance(values, list) else [values]:
        if isinstance(v, str):
            for m in _VAR.finditer(v):
                name = m.group(1).partition(",")[0].strip()
                if name not in ("*", "?", "$", ""):
                    yield name


def statement_keys(raw: Any) -> list[str]:
    """Keys a raw statement references, in the order written: policy variables of Resource /
    NotResource and condition values, and the condition keys."""
    if not isinstance(raw, dict):
        return []
    out: list[str] = []
    for name, value in raw.items():
        if name in ("Resource", "NotResource"):
            out += policy_variables(value)
        elif name == "Condition" and isinstance(value, dict):
            for block in value.values():
                if isinstance(block, dict):
                    for key, vals in block.items():
                        out.append(str(key))
                        out += policy_variables(vals)
    return out


def raw_statements(text: str) -> list[Any]:
    data = json.loads(text)
    raw = data.get("Statement") if isinstance(data, dict) else None
    return raw if isinstance(raw, list) else [raw]


def dedup(keys: Iterable[str]) -> list[str]:
    """Condition key names compare case-insensitively; the first spelling is kept."""
    seen: set[str] = set()
    out = []
    for k in keys:
        if k.lower() not in seen:
            seen.add(k.lower())
            out.append(k)
    return out


def context_keys(documents: Iterable[str]) -> list[str]:
    return dedup(k for doc in documents for raw in raw_statements(doc) for k in statement_keys(raw))
