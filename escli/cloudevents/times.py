"""CloudEvents ``time``: escli's stored form <-> the RFC 3339 text the SDK writes.

Stored times are ``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM``; an export writes ``time`` as the SDK
writes a datetime (``Z`` for UTC, no fraction when the microseconds are zero), and an import
stores it back in escli's form, so an export imported again gives the same strings.
"""

from __future__ import annotations

import re
from typing import Final

from escli.cloudevents.mapping import EventError
from escli.errors import StoreError
from escli.times import RANGE, out_of_range

__all__ = ["sdk_time", "stored_time"]


def _sdk_time_slow(recorded_at: str) -> str:
    """What the SDK's JSON writer makes of ``recorded_at`` parsed to a datetime."""
    from datetime import datetime

    try:
        text = datetime.fromisoformat(recorded_at).isoformat()
    except ValueError as e:
        raise StoreError(f"recorded time {recorded_at!r} is not an ISO 8601 timestamp") from e
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def sdk_time(recorded_at: str) -> str:
    """The ``time`` attribute of a recorded event: ``datetime.isoformat()`` as the SDK writes
    it (``Z`` for UTC, no fraction when the microseconds are zero)."""
    # The store's own form, 'YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM', without building a datetime.
    if len(recorded_at) == 32 and recorded_at[19] == "." and recorded_at[10] == "T":
        head = recorded_at[:19] if recorded_at[20:26] == "000000" else recorded_at[:26]
        offset = recorded_at[26:]
        if offset == "+00:00":
            return head + "Z"
        if offset[0] in "+-" and offset[3] == ":" and offset != "-00:00":
            return head + offset
    return _sdk_time_slow(recorded_at)


_TIME_PARTS_RE: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-][0-9]{2}:[0-9]{2}))"
)


def stored_time(time: str) -> str:
    """A valid RFC 3339 ``time`` in escli's stored form, microseconds and ``+HH:MM``.

    Raises ``EventError`` for what escli cannot keep exactly: digits past the microsecond,
    leap seconds (a Python datetime has neither) and a time outside the range every store
    keeps (``escli.times``)."""
    match = _TIME_PARTS_RE.fullmatch(time)
    if match is None:  # the validator has already rejected anything else
        raise EventError(f"time {time!r} is not an RFC 3339 timestamp")
    date, clock, fraction, offset = match.groups()
    fraction = fraction or ""
    if len(fraction) > 6:
        if fraction[6:].strip("0"):
            raise EventError(
                f"time {time!r} has digits past the microsecond, which escli cannot keep"
            )
        fraction = fraction[:6]
    if clock.endswith(":60"):
        raise EventError(f"time {time!r} is a leap second, which escli cannot keep")
    if out_of_range(time):
        raise EventError(f"time {time!r} is out of range: {RANGE}")
    if offset is None or offset == "-00:00":
        offset = "+00:00"
    return f"{date}T{clock}.{fraction.ljust(6, '0')}{offset}"
