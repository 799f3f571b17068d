"""escli.jetstream.urls: subjects, subject templates and nats:// URLs (no server)."""

from __future__ import annotations

import pytest

from escli.errors import InvalidInput
from escli.jetstream.urls import SubjectTemplate, parse_url, subject_matches, subject_token


def test_a_stream_is_published_on_events_domain_id() -> None:
    assert parse_url("nats://127.0.0.1:4222").subject.render("combat-ogre") == "events.combat.ogre"
    assert SubjectTemplate("events.{domain}.{id}").render("combat-ogre-2") == "events.combat.ogre-2"


def test_characters_nats_forbids_in_a_token_are_percent_encoded() -> None:
    template = SubjectTemplate("events.{domain}.{id}")
    assert template.render("combat-a.b*c>d e%f\tg") == "events.combat.a%2Eb%2Ac%3Ed%20e%25f%09g"
    assert template.render("combat-drache-ü") == "events.combat.drache-ü"
    assert subject_token("x\u00a0y") == "x%C2%A0y"  # a no-break space is whitespace too
    # '%' is encoded too, so two different ids never share a subject.
    assert template.render("combat-a%2Eb") != template.render("combat-a.b")


def test_a_template_names_its_jetstream_subjects() -> None:
    assert SubjectTemplate("events.{domain}.{id}").filter == "events.>"
    assert SubjectTemplate("game.{domain}.{id}").render("combat-ogre") == "game.combat.ogre"
    assert SubjectTemplate("{domain}.events.{id}").filter == "*.events.*"
    assert SubjectTemplate("all.{stream}").render("combat-a.b") == "all.combat-a%2Eb"
    assert SubjectTemplate("one.subject").filter == "one.subject"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("events.{name}", "unknown field {name}"),
        ("events.{id!r}", "unknown field {id}"),
        ("events.{id", "expected '}'"),
        ("events..{id}", "not a NATS subject"),
        ("events.*.{id}", "* and > are wildcards"),
        ("events.{id}.>", "* and > are wildcards"),
        ("my events.{id}", "not a NATS subject"),
    ],
)
def test_a_bad_subject_template_is_invalid_input(template: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("*", r"\*").replace("{", r"\{")):
        SubjectTemplate(template)


def test_the_target_url_names_where_events_go_and_never_credentials() -> None:
    options = parse_url("nats://alice:s3cret@nats.example:4333?stream=GAME&create=1")
    assert (options.host, options.port, options.stream, options.create) == (
        "nats.example",
        4333,
        "GAME",
        True,
    )
    assert options.url == "nats://nats.example:4333?stream=GAME"
    assert parse_url("nats://localhost").url == "nats://localhost:4222"
    assert (
        parse_url("nats://h:1?stream=ESCLI&subject=g.{domain}.{id}").url
        == "nats://h:1?subject=g.{domain}.{id}"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nats://h?topic=x", "unknown NATS URL option 'topic'"),
        ("nats://h?stream=a.b", "stream name 'a.b'"),
        ("nats://h?create=maybe", "create='maybe'"),
        ("nats://h?stream=A&stream=B", "given twice"),
        ("nats://h/path", "takes no path"),
        ("nats://u:pw@h:port", "bad NATS URL"),
    ],
)
def test_a_bad_nats_url_is_invalid_input(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_url(url)
    assert "pw" not in str(caught.value)


def test_subject_filters_match_as_nats_matches_them() -> None:
    assert subject_matches("events.>", "events.combat.ogre")
    assert not subject_matches("events.>", "events")
    assert subject_matches("*.events.*", "combat.events.ogre")
    assert not subject_matches("events.*", "events.combat.ogre")
    assert subject_matches("a.b", "a.b") and not subject_matches("a.b", "a.b.c")
