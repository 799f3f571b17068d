"""The one place JSON text is read and written: every reader of stored data, CloudEvents and
import files comes through here, so what a text means never depends on which command reads it.

- ``parse_data``: a stored event's data (one object), a ``StoreError`` naming the event if not.
- ``typed_decoder`` / ``json_writer``: msgspec's typed reading of JSON text straight into a
  type, and its writing (what the codec checks and builds with); ``typed_refusals`` what
  they refuse with. ``loads_plain``: Python's reading, which the codec explains refusals by.
- ``data_values``: many CloudEvents ``data`` objects at once, as the strict parser reads them
  (orjson's speed where its reading is the strict parser's; a test proves they agree).
- ``loads_json_object_strict``: ``json.loads`` that refuses duplicate member names and the
  non-JSON constants ``NaN``/``Infinity`` (what CloudEvents files are read with).

Standard library at import; msgspec and orjson are imported on first use, never at CLI
start-up. No private ``json`` internals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any, Final

from escli.errors import StoreError

__all__ = [
    "DuplicateMemberError",
    "NonStandardJSONError",
    "StrictJSONError",
    "data_values",
    "json_writer",
    "loads_json_object_strict",
    "loads_plain",
    "member_pointer",
    "parse_data",
    "typed_decoder",
    "typed_refusals",
]


def typed_refusals() -> tuple[type[Exception], ...]:
    """What a typed decoder refuses text with: it does not fit the type, or is not JSON."""
    import msgspec  # here, not at start-up: a short dispatch never needs it

    return (msgspec.ValidationError, msgspec.DecodeError)


def typed_decoder(tp: Any) -> Callable[[str | bytes], Any]:
    """msgspec's decoder of JSON text (str or bytes) into ``tp``, checking as it reads:
    strict (no coercion), refusing NaN, infinity and lone surrogates, which are not JSON.
    ``TypeError`` for a type msgspec cannot decode."""
    import msgspec

    return msgspec.json.Decoder(tp).decode


def json_writer() -> Callable[[Any], bytes]:
    """msgspec's writer of a Python value as JSON text: TypeError or ValueError for what JSON
    cannot hold (a lone surrogate, an integer past the digit limit), but NaN and infinity
    are written as null."""
    import msgspec

    return msgspec.json.Encoder().encode


def loads_plain(text: str | bytes) -> Any:
    """Python's own reading of JSON text, which takes NaN, infinity and lone surrogates: what
    the codec reads a text it refused with again, to say which field and why."""
    return json.loads(text)


def parse_data(text: str, stream: str, generation: int) -> dict[str, Any]:
    """A stored event's JSON data; text that is not a JSON object is a store error naming
    the stream and generation."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise StoreError(f"{stream} generation {generation}: stored data is not JSON ({e})") from e
    if not isinstance(data, dict):
        raise StoreError(f"{stream} generation {generation}: stored data is not a JSON object")
    return data


def member_pointer(name: str) -> str:
    """The JSON pointer (RFC 6901) step to a member: ``/name``, ``~`` and ``/`` escaped."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


_long_digits = re.compile(r"[0-9]{19}").search

_FAST_LOADS: Any = None


def _fast_loads() -> Any:
    """orjson's parser (imported on the first chunk, never at start-up), or Python's."""
    global _FAST_LOADS
    if _FAST_LOADS is None:
        try:
            import orjson
        except ImportError:  # pragma: no cover - orjson is a dependency
            _FAST_LOADS = json.loads
        else:
            _FAST_LOADS = orjson.loads
    return _FAST_LOADS


# Values orjson reads as Python's json does (an int it reads is exact: past 64 bits it would
# be a float).
_EXACT_KINDS: Final = frozenset((str, int, bool, type(None)))
# Arrays (no colons: the member count cannot show them) a text may hold and keep orjson's
# reading; nesting is at most that deep, far from where Python's parser gives up.
_FAST_NESTING: Final = 64


def data_values(texts: Sequence[str]) -> list[Any]:
    """The JSON objects ``texts`` hold, as the strict parser reads them, mostly at orjson's
    speed. Raises ValueError for text either parser refuses.

    orjson keeps the last of duplicate members, reads integers past 64 bits as floats and
    nests deeper than Python's parser can, so its reading is kept only where none of that can
    be: an object with as many members as its text has colons (every member of any object
    has one, so a duplicate, a nested object or a colon in a string shows as more colons)
    and, if any value is a float or an array, no run of 19 digits and few brackets. Any other
    text is read again by the strict parser."""
    values = list(map(_fast_loads(), texts))
    # No text has fewer colons than its object has members: equal sums mean equal counts.
    members_only = "".join(texts).count(":") == sum(map(len, values))
    if not members_only or not _EXACT_KINDS.issuperset(
        map(type, chain.from_iterable(map(dict.values, values)))
    ):
        for index, text in enumerate(texts):
            if (
                text.count(":") != len(values[index])
                or _long_digits(text)
                or text.count("[") > _FAST_NESTING
            ):
                values[index] = loads_json_object_strict(text)
    return values


class StrictJSONError(ValueError):
    """The text is JSON that Python's parser accepts but strict JSON/CloudEvents does not."""


class NonStandardJSONError(StrictJSONError):
    """The text uses NaN, Infinity or -Infinity, which are not JSON."""


class DuplicateMemberError(StrictJSONError):
    """An object has the same member name twice. ``pointer`` is the repeated member's path."""

    def __init__(self, name: str, pointer: str) -> None:
        self.name = name
        self.pointer = pointer
        super().__init__(f"duplicate member name {name!r} at {pointer}")


class _Duplicate(Exception):
    """Raised inside the parser; turned into DuplicateMemberError with a path afterwards."""


def _dict_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Duplicate
    return result


def _reject_constant(name: str) -> object:
    raise NonStandardJSONError(f"{name} is not valid JSON; use null or a string")


class _Pairs(list):  # type: ignore[type-arg]
    """An object kept as its list of (name, value) pairs, to locate duplicates."""


_STRICT_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_dict_without_duplicates, parse_constant=_reject_constant
)
_PAIRS_DECODER: Final = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=_reject_constant)


def _find_duplicate(value: object, pointer: str) -> DuplicateMemberError | None:
    if isinstance(value, _Pairs):
        seen: set[str] = set()
        for name, _ in value:
            if name in seen:
                return DuplicateMemberError(name, pointer + member_pointer(name))
            seen.add(name)
        members = ((pointer + member_pointer(name), item) for name, item in value)
    elif isinstance(value, list):
        members = ((f"{pointer}/{index}", item) for index, item in enumerate(value))
    else:
        return None
    for path, item in members:
        found = _find_duplicate(item, path)
        if found is not None:
            return found
    return None


def loads_json_object_strict(text: str) -> object:
    """Parse JSON text like ``json.loads``, but stricter.

    Raises :class:`DuplicateMemberError` when any object (the event or anything nested in
    ``data``) repeats a member name, :class:`NonStandardJSONError` for NaN/Infinity, and
    ``json.JSONDecodeError`` for malformed JSON: all ``ValueError`` subclasses. Any JSON value
    is returned (an array is a batch); the validators report a wrong top-level type.
    """
    try:
        # Text that is one value and nothing else is read by ``raw_decode`` alone (what
        # ``decode`` runs after its whitespace matches); anything else (whitespace around it,
        # more after it, nothing at all) goes to ``decode``, which says what is wrong.
        try:
            value, end = _STRICT_DECODER.raw_decode(text)
        except json.JSONDecodeError:
            end = -1
        if end == len(text):
            return value
        return _STRICT_DECODER.decode(text)
    except _Duplicate:
        pass
    duplicate = _find_duplicate(_PAIRS_DECODER.decode(text), "")
    assert duplicate is not None
    raise duplicate
