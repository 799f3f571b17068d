"""escli: a command-line event sourcing workbench, and the small library under it.

The library is usable without the CLI::

    from escli import dispatch, load_domain, open_store
    combat = load_domain("combat")
    attack = combat.command_spec("attack").cls
    result = dispatch(combat, attack("ogre", 150), open_store("memory:"))

Names are imported on first use (PEP 562), so ``import escli`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escli.dispatch import DispatchResult, dispatch
    from escli.domains import DomainRegistry, load_domain
    from escli.errors import (
        CommandRejected,
        ConcurrencyConflict,
        EscliError,
        InvalidInput,
        NotFound,
        StoreError,
        StoreUnavailable,
        UsageError,
    )
    from escli.model import Aggregate, AggregateState, Domain, EventMeta, event_meta
    from escli.replay import fold, steps
    from escli.stores import open_store

_EXPORTS = {
    "DispatchResult": "escli.dispatch",
    "dispatch": "escli.dispatch",
    "DomainRegistry": "escli.domains",
    "load_domain": "escli.domains",
    "CommandRejected": "escli.errors",
    "ConcurrencyConflict": "escli.errors",
    "EscliError": "escli.errors",
    "InvalidInput": "escli.errors",
    "NotFound": "escli.errors",
    "StoreError": "escli.errors",
    "StoreUnavailable": "escli.errors",
    "UsageError": "escli.errors",
    "Aggregate": "escli.model",
    "AggregateState": "escli.model",
    "Domain": "escli.model",
    "EventMeta": "escli.model",
    "event_meta": "escli.model",
    "fold": "escli.replay",
    "steps": "escli.replay",
    "open_store": "escli.stores",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'escli' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
