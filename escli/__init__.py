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

if TYPE_CHECKING:  # explicit re-exports for type checkers; at run time see __getattr__
    from escli.app.dispatch import DispatchResult as DispatchResult
    from escli.app.dispatch import dispatch as dispatch
    from escli.app.fold import fold as fold
    from escli.app.fold import steps as steps
    from escli.domain.discovery import DomainRegistry as DomainRegistry
    from escli.domain.discovery import load_domain as load_domain
    from escli.domain.model import Aggregate as Aggregate
    from escli.domain.model import AggregateState as AggregateState
    from escli.domain.model import Domain as Domain
    from escli.domain.model import EventMeta as EventMeta
    from escli.domain.model import event_meta as event_meta
    from escli.domain.projection import Meta as Meta
    from escli.errors import ClientMissing as ClientMissing
    from escli.errors import CommandRejected as CommandRejected
    from escli.errors import ConcurrencyConflict as ConcurrencyConflict
    from escli.errors import DeliveryIncomplete as DeliveryIncomplete
    from escli.errors import DomainError as DomainError
    from escli.errors import EscliError as EscliError
    from escli.errors import ExpectationFailed as ExpectationFailed
    from escli.errors import InvalidInput as InvalidInput
    from escli.errors import NotFound as NotFound
    from escli.errors import ProjectError as ProjectError
    from escli.errors import ProjectionStale as ProjectionStale
    from escli.errors import SnapshotMismatch as SnapshotMismatch
    from escli.errors import StoreError as StoreError
    from escli.errors import StoreUnavailable as StoreUnavailable
    from escli.errors import UnreadableEvent as UnreadableEvent
    from escli.errors import UsageError as UsageError
    from escli.stores import open_store as open_store

_EXPORTS = {
    "DispatchResult": "escli.app.dispatch",
    "dispatch": "escli.app.dispatch",
    "DomainRegistry": "escli.domain.discovery",
    "load_domain": "escli.domain.discovery",
    "ClientMissing": "escli.errors",
    "ProjectError": "escli.errors",
    "ProjectionStale": "escli.errors",
    "SnapshotMismatch": "escli.errors",
    "CommandRejected": "escli.errors",
    "ConcurrencyConflict": "escli.errors",
    "DeliveryIncomplete": "escli.errors",
    "DomainError": "escli.errors",
    "EscliError": "escli.errors",
    "ExpectationFailed": "escli.errors",
    "InvalidInput": "escli.errors",
    "NotFound": "escli.errors",
    "StoreError": "escli.errors",
    "StoreUnavailable": "escli.errors",
    "UnreadableEvent": "escli.errors",
    "UsageError": "escli.errors",
    "Aggregate": "escli.domain.model",
    "AggregateState": "escli.domain.model",
    "Domain": "escli.domain.model",
    "EventMeta": "escli.domain.model",
    "event_meta": "escli.domain.model",
    "Meta": "escli.domain.projection",
    "fold": "escli.app.fold",
    "steps": "escli.app.fold",
    "open_store": "escli.stores",
}

__all__ = [
    "Aggregate",
    "AggregateState",
    "ClientMissing",
    "CommandRejected",
    "ConcurrencyConflict",
    "DeliveryIncomplete",
    "DispatchResult",
    "Domain",
    "DomainError",
    "DomainRegistry",
    "EscliError",
    "EventMeta",
    "ExpectationFailed",
    "InvalidInput",
    "Meta",
    "NotFound",
    "ProjectError",
    "ProjectionStale",
    "SnapshotMismatch",
    "StoreError",
    "StoreUnavailable",
    "UnreadableEvent",
    "UsageError",
    "dispatch",
    "event_meta",
    "fold",
    "load_domain",
    "open_store",
    "steps",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'escli' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
