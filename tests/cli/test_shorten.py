"""Short forms in the human views: event ids as git shortens hashes, times as ls -l."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from escli.cli.shorten import short_id, short_time
from tests.conftest import masked


@pytest.mark.parametrize(
    ("event_id", "shown"),
    [
        ("6205c4e2-ef7d-4e81-aa0e-7ea56df61a03", "6205c4e"),
        ("6205C4E2EF7D4E81AA0E7EA56DF61A03", "6205C4E"),
        ("0192f3a8-7c41-7d2e-9b1a-4c5d6e7f8a9b", "…e7f8a9b"),  # v7: the time comes first
        ("evt-1", "evt-1"),
        ("order-2024-1", "order-2024-1"),
        ("order-2024-0001", "order-2024-0001"),
        ("shop/orders/2024/000123", "shop/orde…24/000123"),
        ("6205c4e2-ef7d-4e81-aa0e-7ea56df61a0", "6205c4e2-…a56df61a0"),  # one short of a UUID
    ],
)
def test_event_ids_are_shortened_as_git_shortens_hashes(event_id: str, shown: str) -> None:
    assert short_id(event_id) == shown


def test_times_are_shortened_as_ls_shortens_them() -> None:
    now = datetime(2026, 12, 3, 15, 30).astimezone()
    today = (now - timedelta(hours=2)).isoformat()
    assert short_time(today, now) == (now - timedelta(hours=2)).strftime("%H:%M:%S    ")
    earlier = now.replace(month=3, day=4)
    assert short_time(earlier.isoformat(), now) == earlier.strftime("Mar 04 %H:%M")
    assert short_time("2024-03-04T10:00:00Z", now) == "2024-03-04  "
    assert {len(short_time(t, now)) for t in (today, earlier.isoformat(), "2024-03-04")} == {12}
    assert short_time("not a time", now) == "not a time"


def test_masking_keeps_everything_but_the_id_and_the_time() -> None:
    line = '    1  6205c4e  06:29:09      combat.EntitySpawned v1.0  {"entity_id": "x"}'
    assert masked(line) == '    1  <id>  <time>  combat.EntitySpawned v1.0  {"entity_id": "x"}'
    without = '    1  combat.EntitySpawned v1.0  {"entity_id": "x"}'
    assert masked(without) == without  # no id or time to mask: the comparison then fails
    named = "combat-orc     2  evt-7  Mar 04 10:00  combat.EntityAttacked v2.0  {}"
    assert masked(named) == "combat-orc     2  <id>  <time>  combat.EntityAttacked v2.0  {}"
