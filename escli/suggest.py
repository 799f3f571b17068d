"""Did-you-mean: the known names closest to a mistyped one, for the error that names it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from escli.errors import NotFound

if TYPE_CHECKING:
    from escli.stores.base import Store

__all__ = ["closest", "did_you_mean", "stream_not_found"]


def closest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``known`` that look like ``name``, closest first."""
    import difflib  # lazily: only an error path needs it, and it costs CLI start-up

    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)


def did_you_mean(
    name: str, known: Iterable[str], style: Literal["escli", "click"] = "escli"
) -> str:
    """The end of an error message: ``; did you mean 'x'?`` (or click's own wording, for
    messages beside click's), or nothing when no name is close."""
    return _hint(closest(name, known), style)


def _hint(close: Sequence[str], style: Literal["escli", "click"] = "escli") -> str:
    if not close:
        return ""
    names = ", ".join(repr(c) for c in close)
    if style == "click":
        return f" Did you mean {names}?" if len(close) == 1 else f" (Did you mean one of: {names}?)"
    return f"; did you mean {names}?" if len(close) == 1 else f"; did you mean one of {names}?"


def stream_not_found(store: Store, stream: str) -> NotFound:
    """The error for a stream the store does not hold, with the closest names it holds in
    the same domain (ids are compared: the shared ``combat-`` would make every name look
    close). Only this error path lists the store's streams."""
    domain, sep, wanted = stream.partition("-")
    prefix = domain + sep
    ids = [s.stream[len(prefix) :] for s in store.streams() if s.stream.startswith(prefix)]
    hint = _hint([prefix + found for found in closest(wanted, ids)])
    return NotFound(f"stream {stream!r} is not in the store{hint}")
