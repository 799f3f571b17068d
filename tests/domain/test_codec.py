"""Encoding events to JSON-ready dicts and decoding them back, strictly."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escli.cloudevents.validate import validate_event
from escli.domain.codec import FieldError, checker, decode, decoder, encode
from escli.domain.words import parse_text
from escli.text import find_lone_surrogate, lone_surrogate


@pytest.fixture(autouse=True, params=["plain", "typed"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs on both of the codec's paths: the plain one (what the first
    values of a class take) and the typed one (msgspec, what every later value takes)."""
    import escli.domain.codec as codec

    for cache in ("_DECODERS", "_CHECKERS", "_VALUES", "_STORED"):
        monkeypatch.setattr(codec, cache, {})
    monkeypatch.setattr(codec, "PLAIN_USES", 0 if request.param == "typed" else 10**9)
    return str(request.param)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Rich:
    name: str
    count: int
    ok: bool
    ratio: float
    maybe: str | None
    colour: Colour
    mode: Literal["fast", "safe"]
    tags: list[str]
    pair: tuple[int, ...]
    scores: dict[str, int]
    where: Point
    anything: Any
    extra: int = 7
    items: list[Point] = field(default_factory=list)


def sample() -> Rich:
    return Rich(
        "n",
        2,
        True,
        0.5,
        None,
        Colour.BLUE,
        "safe",
        ["a"],
        (1, 2),
        {"k": 1},
        Point(1.0, 2.5),
        {"free": [1]},
        8,
        [Point(0.0, 0.0)],
    )


def test_encode_gives_json_ready_data() -> None:
    assert encode(sample()) == {
        "name": "n",
        "count": 2,
        "ok": True,
        "ratio": 0.5,
        "maybe": None,
        "colour": "blue",
        "mode": "safe",
        "tags": ["a"],
        "pair": [1, 2],
        "scores": {"k": 1},
        "where": {"x": 1.0, "y": 2.5},
        "anything": {"free": [1]},
        "extra": 8,
        "items": [{"x": 0.0, "y": 0.0}],
    }


def test_decode_inverts_encode() -> None:
    assert decode(Rich, encode(sample())) == sample()


def test_missing_fields_with_defaults_take_the_default() -> None:
    data = encode(sample())
    del data["extra"], data["items"]
    decoded = decode(Rich, data)
    assert (decoded.extra, decoded.items) == (7, [])


def test_an_integral_number_is_accepted_for_a_float() -> None:
    assert decode(Point, {"x": 1, "y": 2}) == Point(1.0, 2.0)


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"count": "2"}, "count", "expected an integer, got '2'"),
        ({"count": True}, "count", "expected an integer, got True"),
        ({"ok": 1}, "ok", "expected true or false, got 1"),
        ({"colour": "green"}, "colour", "expected one of 'red', 'blue', got 'green'"),
        ({"mode": "slow"}, "mode", "expected one of 'fast', 'safe', got 'slow'"),
        ({"tags": ["a", 3]}, "tags[1]", "expected a string, got 3"),
        ({"scores": {"k": "x"}}, "scores.k", "expected an integer, got 'x'"),
        ({"where": {"x": 1, "y": "far"}}, "where.y", "expected a number, got 'far'"),
        ({"items": [{"x": 1}]}, "items[0].y", "missing"),
        ({"maybe": 3}, "maybe", "expected str | None, got 3"),
        ({"unknown": 1}, "unknown", "not a field of Rich"),
    ],
)
def test_data_that_does_not_fit_names_its_field(change: dict, path: str, message: str) -> None:  # type: ignore[type-arg]
    data = {**encode(sample()), **change}
    with pytest.raises(FieldError) as caught:
        decode(Rich, data)
    assert (caught.value.path, caught.value.message) == (path, message)


def test_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(FieldError, match="expected an object"):
        decode(Point, [1, 2])


@given(st.text(), st.integers(), st.booleans())
def test_the_fast_path_and_the_general_path_agree(name: str, count: int, flag: bool) -> None:
    @dataclass(frozen=True)
    class Flat:
        name: str
        count: int
        flag: bool

    data = {"name": name, "count": count, "flag": flag}
    assert decode(Flat, data) == Flat(name, count, flag)
    with pytest.raises(FieldError):
        decode(Flat, {**data, "count": str(count)})


@dataclass(frozen=True)
class Plain:
    name: str
    count: int
    flag: bool


def verdict(function: Any, data: Any) -> tuple[str, str] | str:
    """Where ``function`` refuses ``data`` (path, message), or "taken"."""
    try:
        function(data)
    except FieldError as e:
        return (e.path, e.message)
    return "taken"


JSON_VALUES = st.one_of(st.text(max_size=3), st.integers(), st.booleans(), st.floats(), st.none())


@given(
    st.sampled_from([Plain, Point, Rich]),
    st.dictionaries(st.sampled_from(["name", "count", "flag", "x", "y", "other"]), JSON_VALUES),
)
def test_a_checker_refuses_what_its_decoder_refuses_and_builds_nothing(
    cls: type, data: dict[str, Any]
) -> None:
    assert verdict(checker(cls), data) == verdict(decoder(cls), data)


@pytest.mark.parametrize("cls", [Plain, Point, Rich])
def test_a_checker_takes_what_its_decoder_takes(cls: type) -> None:
    data = {
        Plain: {"name": "n", "count": 1, "flag": False},
        Point: {"x": 1, "y": 2.5},
        Rich: encode(sample()),
    }[cls]
    assert decoder(cls)(data) is not None
    assert checker(cls)(data) is None


@pytest.mark.parametrize(
    ("tp", "text", "value"),
    [
        (int, "150", 150),
        (int, "-3", -3),
        (float, "1.5", 1.5),
        (str, "ogre", "ogre"),
        (bool, "yes", True),
        (bool, "False", False),
        (int | None, "none", None),
        (int | None, "4", 4),
        (Colour, "red", Colour.RED),
        (Literal["a", "b"], "b", "b"),
    ],
)
def test_command_line_words_are_converted_by_type(tp: Any, text: str, value: Any) -> None:
    assert parse_text(tp, text, "f") == value


@pytest.mark.parametrize(
    ("tp", "text", "message"),
    [
        (int, "abc", "expected an integer, got 'abc'"),
        (float, "x", "expected a number"),
        (bool, "maybe", "expected true or false"),
        (Colour, "green", "expected one of"),
    ],
)
def test_bad_command_line_words_are_refused(tp: Any, text: str, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        parse_text(tp, text, "f")


@pytest.mark.parametrize("text", [" 5", "1_000", "\u0663", "5 ", "", "+", "0x10", "1e3"])
def test_integers_on_the_command_line_are_plain_ascii_digits(text: str) -> None:
    with pytest.raises(FieldError, match="expected an integer"):
        parse_text(int, text, "f")


# -- lone surrogates: one finder, one wording ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "index"),
    [("ogre", None), ("é\n\t", None), ("ogre \U0001f600", None), ("og\ud800re", 2), ("\udcff", 0)],
)
def test_the_lone_surrogate_finder_gives_the_first_ones_index(text: str, index: int | None) -> None:
    assert find_lone_surrogate(text) == index


def test_a_lone_surrogate_is_worded_the_same_wherever_it_comes_in() -> None:
    wording = "a lone surrogate U+D800 at index 1, which UTF-8 cannot encode"
    assert lone_surrogate("a\ud800") == wording
    with pytest.raises(FieldError) as caught:
        parse_text(str, "a\ud800", "entity_id")
    assert str(caught.value) == f"entity_id: contains {wording}"
    problems = validate_event({"specversion": "1.0", "id": "a\ud800", "source": "s", "type": "t"})
    assert [p.message for p in problems if p.pointer == "/id"] == [
        f"id contains {wording}: 'a\\ud800'"
    ]
