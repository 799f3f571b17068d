"""The arithmetic of pending ranges (``Outbox``), shared by every store's outbox."""

from __future__ import annotations

from escli.stores.base import Pending

__all__ = ["cleared", "merge_pending"]


def merge_pending(old: Pending | None, new: Pending) -> Pending:
    """The pending range after another failure: it covers both."""
    if old is None:
        return new
    return new._replace(
        from_generation=min(old.from_generation, new.from_generation),
        to_generation=max(old.to_generation, new.to_generation),
    )


def cleared(old: Pending, up_to_generation: int) -> Pending | None:
    """The pending range left once everything up to a generation arrived."""
    if up_to_generation >= old.to_generation:
        return None
    return old._replace(from_generation=max(old.from_generation, up_to_generation + 1))
