"""The two client packages, esdbclient and kurrentdbclient: the only place that knows their
names (their classes, their exceptions). Imported lazily, when a store is made."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from escli.errors import missing_client

__all__ = ["ClientApi", "load_client_api"]

# -------------------------------------------------------------------------------------------
# The two client packages: the only place that knows their names. Both ship the same
# protocol, methods and keywords; kurrentdbclient renamed the classes and added an ``Error``
# suffix to the exceptions. esdbclient is preferred when both are importable (they cannot be
# installed together anyway: disjoint grpcio versions).
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientApi:
    package: str
    schemes: frozenset[str]
    client_class: Any
    new_event: Any
    connection_spec: Any
    no_stream: Any
    any_version: Any  # append or delete whatever the stream's revision
    error: type[Exception]  # the base of every client exception
    not_found: type[Exception]
    wrong_version: type[Exception]
    deleted: type[Exception]
    too_large: type[Exception]
    unavailable: type[Exception]
    tls_failed: type[Exception]
    deadline: type[Exception]
    discovery_failed: type[Exception]
    not_leader: type[Exception]
    access_denied: tuple[type[Exception], ...]
    bad_position: tuple[type[Exception], ...]


def load_client_api() -> ClientApi:
    """The installed client package's names, or ``ClientMissing`` saying what to install."""
    failed: ImportError | None = None
    for package in ("esdbclient", "kurrentdbclient"):
        try:
            top = importlib.import_module(package)
            break
        except ImportError as e:
            # Keep the first failure that is not "not installed" (a client that is there
            # but does not import): it is the one worth showing.
            if failed is None or isinstance(failed, ModuleNotFoundError):
                failed = e
    else:
        assert failed is not None
        raise missing_client(
            "EventStoreDB URLs need a client package",
            "'escli[esdb]' (esdbclient) or 'escli[kurrentdb]' (kurrentdbclient)",
            failed,
        )
    x = importlib.import_module(f"{package}.exceptions")
    spec = importlib.import_module(f"{package}.connection_spec").ConnectionSpec
    if package == "esdbclient":
        return ClientApi(
            package=package,
            schemes=frozenset({"esdb", "esdb+discover"}),
            client_class=top.EventStoreDBClient,
            new_event=top.NewEvent,
            connection_spec=spec,
            no_stream=top.StreamState.NO_STREAM,
            any_version=top.StreamState.ANY,
            error=x.EventStoreDBClientException,
            not_found=x.NotFound,
            wrong_version=x.WrongCurrentVersion,
            deleted=x.StreamIsDeleted,
            too_large=x.MaximumAppendSizeExceededError,
            unavailable=x.ServiceUnavailable,
            tls_failed=x.SSLError,
            deadline=x.DeadlineExceeded,
            discovery_failed=x.DiscoveryFailed,
            not_leader=x.NodeIsNotLeader,
            access_denied=(x.AccessDeniedError,),
            # A made-up position on a filtered $all read: only a generic UNKNOWN here.
            bad_position=(x.UnknownError,),
        )
    return ClientApi(
        package=package,
        schemes=frozenset(
            {"esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"}
        ),
        client_class=top.KurrentDBClient,
        new_event=top.NewEvent,
        connection_spec=spec,
        no_stream=top.StreamState.NO_STREAM,
        any_version=top.StreamState.ANY,
        error=x.KurrentDBClientError,
        not_found=x.NotFoundError,
        wrong_version=x.WrongCurrentVersionError,
        deleted=x.StreamIsDeletedError,
        too_large=x.MaximumAppendSizeExceededError,
        unavailable=x.ServiceUnavailableError,
        tls_failed=x.SSLError,
        deadline=x.DeadlineExceededError,
        discovery_failed=x.DiscoveryFailedError,
        not_leader=x.NodeIsNotLeaderError,
        access_denied=(x.AccessDeniedError, x.UnauthenticatedError),
        bad_position=(x.InvalidCommitPositionError,),
    )
