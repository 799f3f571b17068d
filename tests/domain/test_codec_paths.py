"""The codec's two paths, msgspec's (typed) and Python's (plain), give one verdict: the same
value, or the same refusal worded the same way, for Python values and for stored text."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, make_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import escli.domain.codec as codec
from escli.domain.codec import FieldError, check_storable, encode, stored_decoder


class Size(enum.Enum):
    S = "s"
    L = "l"


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int


@dataclass(frozen=True)
class Typed:
    total: Decimal
    at: datetime
    due: date
    order_id: UUID
    size: Size
    mode: Literal["a", "b"]
    lines: list[Line]
    extras: dict[str, int]
    tags: tuple[str, ...]
    note: str | None
    ratio: float | None
    anything: Any
    bare: list  # type: ignore[type-arg]
    raw: dict  # type: ignore[type-arg]
    count: int = 0
    more: list[Line] = field(default_factory=list)


FIELDS = list(codec.field_types(Typed))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.text(max_size=4),
    st.sampled_from(
        [
            "12.50",
            "NaN",
            "1e3",
            "2026-01-31T09:30:00Z",
            "2026-01-31T09:30:00",
            "2026-01-31",
            "12345678-1234-5678-1234-567812345678",
            "s",
            "x",
            "a",
            "\ud800",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["sku", "qty", "k", "x"]), inner, max_size=3),
    ),
    max_leaves=6,
)
GOOD = encode(
    Typed(
        Decimal("12.50"),
        datetime.fromisoformat("2026-01-31T09:30:00+01:00"),
        date(2026, 1, 31),
        UUID("12345678-1234-5678-1234-567812345678"),
        Size.L,
        "a",
        [Line("x", 1)],
        {"k": 1},
        ("t",),
        None,
        0.5,
        {"free": [1]},
        [1, "a"],
        {"a": None},
    )
)


def verdict(function: Any, data: Any) -> Any:
    try:
        return ("taken", function(data))
    except FieldError as e:
        return (e.path, e.message)


def both(monkeypatch: pytest.MonkeyPatch, build: Any) -> tuple[Any, Any]:
    """The plain and the typed version of what ``build`` makes."""
    made = []
    for uses in (10**9, 0):
        for cache in ("_DECODERS", "_CHECKERS", "_VALUES", "_STORED"):
            monkeypatch.setattr(codec, cache, {})
        monkeypatch.setattr(codec, "PLAIN_USES", uses)
        made.append(build())
    return made[0], made[1]


def changed(data: dict[str, Any]) -> dict[str, Any]:
    return {**GOOD, **data}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*FIELDS, "unknown"]), VALUES, max_size=3))
def test_python_values_get_one_verdict_on_both_paths(data: dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        plain, typed = both(monkeypatch, lambda: codec.decoder(Typed))
        assert verdict(plain, changed(data)) == verdict(typed, changed(data))
        plain, typed = both(monkeypatch, lambda: codec.checker(Typed))
        assert verdict(plain, changed(data)) == verdict(typed, changed(data))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*FIELDS, "unknown"]), VALUES, max_size=3))
def test_stored_text_gets_one_verdict_on_both_paths(data: dict[str, Any]) -> None:
    text = json.dumps(changed(data))
    plain = stored_decoder(Typed, typed=False)
    typed = stored_decoder(Typed, typed=True)
    assert verdict(plain, text) == verdict(typed, text)
    assert verdict(typed, text.encode("utf-8", "surrogatepass")) == verdict(typed, text) or (
        "\\ud800" in text
    )


def test_good_data_decodes_to_the_same_instance_on_both_paths() -> None:
    text = json.dumps(GOOD)
    plain = stored_decoder(Typed, typed=False)(text)
    typed = stored_decoder(Typed, typed=True)(text)
    assert plain == typed
    assert encode(typed) == GOOD
    assert typed.total == Decimal("12.50") and typed.at.utcoffset() is not None


@pytest.mark.parametrize(
    ("tp", "stored"),
    [
        (int | float, True),
        (str | int, True),
        (Literal["a", "b"] | None, True),
        (list[int] | dict[str, int], True),
        (Decimal | None, True),
        (UUID | None, True),
        (str | datetime, False),
        (Decimal | int, False),
        (Line | None, True),
        (Any | None, False),
        (set[str], False),
        (tuple[int, str], False),
    ],
)
def test_what_escli_stores_msgspec_can_decode(tp: Any, stored: bool) -> None:
    """check_storable (run at registration, without importing msgspec) refuses at least
    what msgspec cannot decode."""
    import msgspec

    from escli.domain.typed import plan

    Holder = make_dataclass("Holder", [("value", tp)], frozen=True)
    if not stored:
        with pytest.raises(TypeError, match=r"Holder\.value: escli cannot"):
            check_storable(Holder)
        return
    check_storable(Holder)
    plan(Holder)
    msgspec.json.Decoder(tp)
