"""Folding a stream's recorded events into state, whole or step by step."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple

from escli.domain.calls import NotAState, calling, domain_stdout, failure, home_of, state_failure
from escli.domain.codec import PLAIN_USES, FieldError, StoredDecoder, stored_decoder
from escli.domain.model import Domain, applied, applying, stamped
from escli.domain.upcasting import UpcastFailed, chain_decoder
from escli.errors import EscliError, StoreError, UnreadableEvent
from escli.stores.base import FoldRow, RecordedEvent, Store

if TYPE_CHECKING:
    from escli.cloudevents.files import FileStream

__all__ = [
    "Step",
    "check_found",
    "decode_event",
    "decode_stored",
    "decoder",
    "ends_early",
    "event_id_at",
    "fold",
    "replay_state",
    "replay_steps",
    "steps",
]


def decoder(
    domain: Domain, stream: str, generation: int, event_type: str, version: str, typed: bool
) -> StoredDecoder:
    """The decoder of a stored (type, version): its class's own, or through the upcasters
    that take it to a class; neither is the author's error, saying what to do."""
    reading = domain.reading(event_type, version)
    if reading is None:
        unreadable = domain.unreadable(event_type, version)
        raise UnreadableEvent(f"{stream} generation {generation}: {unreadable}")
    if reading.chain is None:
        return stored_decoder(reading.cls, typed=typed)
    return chain_decoder(reading.chain, typed=typed)


def _where(stream: str, generation: int, event_id: str | None) -> str:
    return f"{stream} generation {generation}" + (f", event {event_id}" if event_id else "")


def _field_error(stream: str, generation: int, event_type: str, e: FieldError) -> StoreError:
    return StoreError(
        f"{stream} generation {generation}: {event_type} field {e.path or '(data)'}: {e.message}"
    )


def decode_event(domain: Domain, recorded: RecordedEvent) -> Any:
    """The domain event a record holds; a record that does not fit its class is a store error
    naming the stream, generation and field."""
    r = recorded
    decoding = decoder(domain, r.stream, r.generation, r.event_type, r.type_version, True)
    return decode_stored(domain, decoding, r.stream, r.generation, r.event_id, r.event_type, r.data)


def decode_stored(
    domain: Domain,
    decoding: StoredDecoder,
    stream: str,
    generation: int,
    event_id: str,
    event_type: str,
    data: Any,
) -> Any:
    """``decoding(data)``, its failures given the fold's context: data that does not fit its
    class or is not JSON (a store error naming stream, generation and field), an upcaster
    that fails (the domain's error)."""
    try:
        return decoding(data)
    except FieldError as e:
        raise _field_error(stream, generation, event_type, e) from e
    except UpcastFailed as e:
        raise e.error(domain, _where(stream, generation, event_id)) from e
    except (json.JSONDecodeError, RecursionError) as e:
        raise _not_json(stream, generation, e) from e


def _not_json(stream: str, generation: int, error: Exception) -> StoreError:
    return StoreError(f"{stream} generation {generation}: stored data is not JSON ({error})")


def _check_order(stream: str, generation: int, expected: int) -> None:
    if generation != expected:
        raise StoreError(
            f"{stream}: expected generation {expected}, the store gave {generation}; "
            "the stream has a gap or is out of order"
        )


def fold(
    domain: Domain,
    stream: str,
    rows: Iterable[FoldRow],
    state: Any = None,
    *,
    ids: Callable[[int], str | None] | None = None,
) -> Any:
    """The state after applying ``rows`` (from ``Store.read_data``, in generation order) to
    ``state``, by default the stream's initial state. The framework bumps ``generation`` by
    one per applied event. An event stored at an old version is read through the domain's
    upcasters (``escli.domain.upcasting``); ``ids`` gives the id of the event at a generation,
    for the error of an upcaster that fails (rows carry no ids: only an error asks).

    This is the replay hot path: each stored text is decoded straight into its event class
    by one cached msgspec decoder per (type, version) (``escli.domain.codec.stored_decoder``),
    whose two parts the loop calls itself (a Python call per event would cost a third of the
    decoding), and errors are given their context only when they happen. The first
    ``PLAIN_USES`` events go through the plain path instead: a short fold, as a dispatch's,
    does not wait for msgspec's import.
    """
    if state is None:
        state = domain.initial_state(stream)
    apply = domain.aggregate_impl.apply_event
    decoders: dict[tuple[str, str], StoredDecoder] = {}
    generation = state.generation
    typed_from = generation + 1 + PLAIN_USES
    typed = False
    event_type, decoding, data = "", None, None
    try:
        with domain_stdout(), applying() as applying_to:  # once per fold: benchmarked
            for stored_generation, event_type, version, data in rows:
                generation += 1
                if stored_generation != generation:
                    _check_order(stream, stored_generation, generation)
                if generation == typed_from:
                    typed = True
                    decoders.clear()  # the plain ones
                decoding = decoders.get((event_type, version))
                if decoding is None:
                    decoding = decoders[event_type, version] = decoder(
                        domain, stream, generation, event_type, version, typed
                    )
                if data.__class__ is str:
                    if decoding.check is not None:  # None: build checks (an upcast)
                        decoding.check(data)
                    event = decoding.build(data)
                else:
                    event = decoding(data)
                applying_to[0] = state
                state = stamped(apply(state, event), generation)
    except FieldError as e:
        raise _field_error(stream, generation, event_type, e) from e
    except EscliError:
        raise
    except UpcastFailed as e:
        _close(rows)
        event_id = None if ids is None else ids(generation)
        raise e.error(domain, _where(stream, generation, event_id)) from e
    except NotAState as e:  # apply_event returned None, or what is not a state
        _close(rows)
        raise state_failure(domain, e, f" (folding {stream} at generation {generation})") from e
    except (Exception, SystemExit) as e:
        if decoding is not None and isinstance(e, decoding.refused):
            assert isinstance(data, (str, bytes))
            try:
                refusal = decoding.refusal(data, e)
            except (ValueError, RecursionError) as not_json:  # stored text, not JSON
                raise _not_json(stream, generation, not_json) from not_json
            raise _field_error(stream, generation, event_type, refusal) from e
        _close(rows)  # now, while its store is open: the error's traceback keeps it alive
        context = f" (folding {stream} at generation {generation})"
        found = failure(domain.name, home_of(domain), e, context)
        if found is not None:  # apply_event, or a __post_init__ of the event class, failed
            raise found from e
        if isinstance(e, (json.JSONDecodeError, RecursionError)):  # stored text, not JSON
            raise _not_json(stream, generation, e) from e
        raise
    return state


class Step(NamedTuple):
    """One applied event: the record, its decoded event, and the states around it."""

    recorded: RecordedEvent
    event: Any
    before: Any
    after: Any


def steps(domain: Domain, stream: str, records: Iterable[RecordedEvent]) -> Iterator[Step]:
    """Every transition of the fold, in order."""
    state = domain.initial_state(stream)
    apply = domain.aggregate_impl.apply_event
    try:
        for recorded in records:
            _check_order(stream, recorded.generation, state.generation + 1)
            event = decode_event(domain, recorded)
            with calling(domain, f" (folding {stream} at generation {recorded.generation})"):
                after = applied(apply, state, event)
            yield Step(recorded, event, state, after)
            state = after
    finally:
        _close(records)  # a walk that ended early: release the store's cursor now


def event_id_at(source: Store | FileStream, stream: str, generation: int) -> str | None:
    """The id of ``stream``'s event at ``generation`` in ``source`` (for an error: a read of
    one event), or None if it cannot be read."""
    try:
        records = source.read(stream, from_generation=generation, to_generation=generation)
        try:
            return next(iter(records)).event_id
        finally:
            _close(records)
    except (EscliError, StopIteration):
        return None


def _close(rows: Iterable[Any]) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()


# -- the replay use case: a stream from a store or a file, up to a generation ---------------


def replay_state(
    domain: Domain,
    stream: str,
    source: Store | FileStream,
    to_generation: int | None = None,
    *,
    store: Store | None = None,
) -> Any:
    """The state of ``stream`` read from ``source`` up to ``to_generation``. ``store`` is the
    store ``source`` is (None for a file): a stream it does not hold is ``NotFound``, with
    the closest names it holds, so that a typo does not look like a new entity."""
    state = fold(
        domain,
        stream,
        source.read_data(stream, to_generation=to_generation),
        ids=lambda generation: event_id_at(source, stream, generation),
    )
    if state.generation == 0:
        check_found(store, stream, to_generation)
    return state


def replay_steps(
    domain: Domain,
    stream: str,
    source: Store | FileStream,
    to_generation: int | None = None,
    *,
    store: Store | None = None,
) -> Iterator[Step]:
    """Every transition of ``stream`` up to ``to_generation``, as ``steps`` gives them;
    ``NotFound`` (as ``replay_state``) is raised here, before the first step is asked for."""
    walked = steps(domain, stream, source.read(stream, to_generation=to_generation))
    first = next(walked, None)
    if first is None:
        check_found(store, stream, to_generation)
        return iter(())
    return chain([first], walked)


def ends_early(stream: str, reached: int, to_generation: int | None) -> str | None:
    """What to tell a person when the stream ended before ``--to-generation`` (the replay
    stopped at its end; the state's generation says it to a machine), or None."""
    if to_generation is None or reached >= to_generation:
        return None
    return f"{stream} ends at generation {reached}, before --to-generation {to_generation}"


def check_found(store: Store | None, stream: str, to_generation: int | None) -> None:
    """A replay that read nothing: of a stream the store does not hold, it is not found.
    Only here is the store asked anything more (a file's stream was found when the file was
    read); only --to-generation 0 reads nothing of a stream that exists."""
    if store is not None and (to_generation != 0 or store.generation(stream) == 0):
        from escli.suggest import stream_not_found  # the error path only

        raise stream_not_found(store, stream)
