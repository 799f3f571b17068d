"""The one range of times every escli store keeps, checked wherever a time comes in.

A time is kept when it lies in years 0001 to 9999 both as written and in UTC: from
``0001-01-01T00:00:00Z`` to ``9999-12-31T23:59:59.999999Z``, with a date as written that a
Python ``datetime`` holds. That is within what PostgreSQL's ``timestamptz`` holds, so a time
one store accepted copies to any other. RFC 3339 allows more (year 0000;
``9999-12-31T23:59:59-14:00``, which is in year 10000 in UTC), and the CloudEvents validator,
which follows the specification, accepts those; escli refuses them when it reads a file, and
a PostgreSQL store when asked to append one (from a store an older escli wrote, say). SQLite
and memory stores keep the text they are given, which has passed one of these checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

__all__ = ["EARLIEST", "LATEST", "RANGE", "out_of_range"]

EARLIEST: Final = "0001-01-01T00:00:00Z"
LATEST: Final = "9999-12-31T23:59:59.999999Z"
RANGE: Final = (
    f"escli keeps times in years 0001 to 9999, as written and in UTC ({EARLIEST} to {LATEST})"
)


def out_of_range(time: str) -> bool:
    """Whether an RFC 3339 time (with an offset or ``Z``) is outside escli's range.

    Only years 0000, 0001 and 9999 can be: an offset moves a time by less than a day."""
    year = time[:4]
    if "0001" < year < "9999":
        return False
    if year == "0000":
        return True
    try:
        # Upper case: Python 3.11 reads neither 't' nor 'z', which RFC 3339 allows.
        parsed = datetime.fromisoformat(time.upper())
    except ValueError:
        return False  # not a time at all: the caller's checks say what is wrong
    if parsed.tzinfo is None:
        return False  # no offset: not an instant, which the caller's checks refuse
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        return True
    return False
