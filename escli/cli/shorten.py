"""Short forms for people: an event id as ``git log --oneline`` shortens a hash, a time as
``ls -l`` shortens one. Only the human views use them; ``--json`` keeps ids and times whole."""

from __future__ import annotations

from datetime import datetime

__all__ = ["short_id", "short_time"]


WIDTH = 12  # every short time is padded to this, so the columns after it stay put
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_id(event_id: str) -> str:
    """An event id as ``git log --oneline`` shows a hash: a UUID by its first 7 characters
    (as unique in a stream as a short hash is in a repository). A time-ordered UUID (version
    6 or 7) starts with its time, which events of a burst share, so it is shown by its last 7
    (random) characters instead, after an ellipsis. Any other id was chosen by a person or a
    system, and its ends are what tell it apart (``order-2024-0001`` from
    ``order-2024-0002``): whole up to 20 characters, else its first 9 and last 9 around an
    ellipsis."""
    hexdigits = event_id.replace("-", "")
    if len(hexdigits) == 32 and all(c in "0123456789abcdefABCDEF" for c in hexdigits):
        if len(event_id) == 36 and event_id[14] in "67":
            return "…" + hexdigits[-7:]
        return event_id[:7]
    return event_id if len(event_id) <= 20 else f"{event_id[:9]}…{event_id[-9:]}"


def short_time(recorded_at: str, now: datetime | None = None) -> str:
    """A stored time in local time, as ``ls -l`` shortens one: ``14:03:27`` today,
    ``Mar 04 14:03`` this year, ``2024-03-04`` before (English month names whatever the
    locale), padded to ``WIDTH``; the text itself if it does not parse."""
    try:
        when = datetime.fromisoformat(recorded_at).astimezone()
    except ValueError:
        return recorded_at
    now = now or datetime.now().astimezone()
    if when.date() == now.date():
        shown = f"{when:%H:%M:%S}"
    elif when.year == now.year:
        shown = f"{_MONTHS[when.month - 1]} {when:%d %H:%M}"
    else:
        shown = f"{when:%Y-%m-%d}"
    return shown.ljust(WIDTH)
