"""A projection's hot loop: batches of the global log through its function, one pass each,
into the rows they change (``escli.app.projections`` runs the batches, each in one
transaction with its checkpoint). Measured by ``benchmarks/projection_bench.py``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from escli.app.fold import decode_stored, decoder
from escli.domain.calls import domain_stdout, failure, home_of
from escli.domain.codec import StoredDecoder
from escli.domain.projection import Meta, Projection
from escli.errors import EscliError
from escli.stores.views import LogRow, Views
from escli.text import find_lone_surrogate, lone_surrogate, surrogate_in

__all__ = ["ROW_CACHE", "Batcher", "Empty", "project_rows"]

# Rows a run keeps parsed between its batches (key -> row, None: known to have none): a key
# touched again in the next batch is neither read nor parsed again. Bounded, so a run's
# memory does not grow with the log or the view; the oldest go first.
ROW_CACHE = 20_000


class Batcher:
    """Batches of log rows through the projection, in one pass: each event decoded, keyed
    and folded into its row, read from the view the first time the run meets its key (a
    batch's streams in one query up front; another key alone when first met) and then kept
    parsed between batches; the changed rows as JSON text (None: deleted). ``empty``: the
    view holds no row this run did not write (a build at position 0), so nothing is read
    until the cache first lets a row go. The cache holds what the view holds once each batch
    is written; a batch whose write fails ends the run, cache and all."""

    def __init__(
        self, projection: Projection, views: Views | Empty, build: int, *, empty: bool
    ) -> None:
        self.projection = projection
        self.domain = projection.domain
        self.views = views
        self.build = build
        self.empty = empty
        self.decoders: dict[tuple[str, str], StoredDecoder | None] = {}
        self.wanted = projection.classes
        self.cache: dict[str, dict[str, Any] | None] = {}

    def reset(self, build: int, *, empty: bool) -> None:
        """Go on with ``build`` (``empty``: at position 0), every row kept forgotten: another
        runner wrote the view meanwhile, so the view may no longer hold them."""
        self.build, self.empty, self.cache = build, empty, {}

    def _decoding(
        self, stream: str, generation: int, event_type: str, version: str
    ) -> StoredDecoder | None:
        """The decoder of a stored (type, version), None for a class not taken (cached)."""
        found = decoder(self.domain, stream, generation, event_type, version, True)
        taken = found if found.cls in self.wanted else None
        self.decoders[event_type, version] = taken
        return taken

    def _load(self, keys: Iterable[str]) -> None:
        """The rows of ``keys`` the cache lacks, read into it (None: the view has none)."""
        cache = self.cache
        unknown = [key for key in keys if key not in cache]
        if not unknown:
            return
        stored = (
            {}
            if self.empty
            else self.views.view_rows(self.projection.full_name, self.build, unknown)
        )
        loads = json.loads
        for key in unknown:
            text = stored.get(key)
            cache[key] = None if text is None else loads(text)

    def apply(self, rows: Sequence[LogRow]) -> tuple[int, dict[str, str | None]]:
        """The batch's events given to the projection, and the rows they changed. The hot
        loop of a catch-up (benchmarked): rows are unpacked as tuples, stored text goes
        straight through its decoder's parts, and errors get their context only when they
        happen (as ``escli.app.fold.fold`` does)."""
        projection, domain = self.projection, self.domain
        keyed = projection.key is not None
        key_of, function = projection.key_of, projection.function
        decoders, cache = self.decoders, self.cache
        if not keyed:
            self._load(dict.fromkeys([row[1] for row in rows]))
        touched: dict[str, None] = {}  # keys in the order first met
        skipped = 0
        meta = None
        try:
            with domain_stdout():
                for row in rows:
                    position, stream, generation, event_id, event_type, version, time_, data = row
                    decoding = decoders.get((event_type, version), _UNSEEN)
                    if decoding is _UNSEEN:
                        decoding = self._decoding(stream, generation, event_type, version)
                    if decoding is None:
                        skipped += 1  # a class the projection does not take
                        continue
                    _, check, build, _, refused = decoding  # its parts, unpacked at once
                    if data.__class__ is str and check is not None:
                        try:
                            check(data)
                            event = build(data)
                        except refused:
                            event = decode_stored(  # again, for the error with its context
                                domain, decoding, stream, generation, event_id, event_type, data
                            )
                    else:
                        event = decode_stored(
                            domain, decoding, stream, generation, event_id, event_type, data
                        )
                    meta = Meta(stream, generation, position, event_id, time_)
                    key = key_of(event, meta) if keyed else stream
                    row_now = cache.get(key, _UNSEEN)
                    if row_now is _UNSEEN:
                        self._load((key,))
                        row_now = cache[key]
                    made = function(row_now, event, meta)
                    if made is not None and made.__class__ is not dict:
                        _checked(projection, made)
                    cache[key] = made
                    touched[key] = None
        except EscliError:
            raise
        except (Exception, SystemExit) as e:
            context = (
                ""
                if meta is None
                else f" (projecting {meta.stream} at generation {meta.generation})"
            )
            found = failure(domain.name, home_of(domain), e, context)
            if found is not None:
                raise found from e
            raise
        changed = {key: _text(projection, key, cache[key]) for key in touched}
        for key in touched:  # the newest last, and the oldest out past the bound
            cache[key] = cache.pop(key)
        if len(cache) > ROW_CACHE:
            self.empty = False  # a row let go is in the view only
            while len(cache) > ROW_CACHE:
                del cache[next(iter(cache))]
        return len(rows) - skipped, changed


_UNSEEN: Any = object()


def _checked(projection: Projection, row: Any) -> dict[str, Any] | None:
    if row is not None and not isinstance(row, dict):
        raise projection.failure(
            f"returned {type(row).__name__} {row!r:.60}: a row is a dict, or None to delete it"
        )
    return row


# One encoder for every row: ``json.dumps`` with options builds a new one per call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def _text(projection: Projection, key: str, row: dict[str, Any] | None) -> str | None:
    """A changed row as the JSON text a view keeps (None: deleted), refused as the
    projection's failure when it is not JSON or holds text UTF-8 cannot encode (a lone
    surrogate: a store would fail on it mid-write). Checked per changed row, not per event;
    text that is all ASCII, the common case, holds none (``isascii`` is a flag)."""
    if not key.isascii() and find_lone_surrogate(key) is not None:
        raise projection.failure(
            f"key gave {key!r}: it contains {lone_surrogate(key)}", projection.key
        )
    if row is None:
        return None
    try:
        text = _ENCODE(row)
    except (TypeError, ValueError) as e:
        raise projection.failure(f"returned a row that is not JSON ({e})") from e
    if not text.isascii() and find_lone_surrogate(text) is not None:
        problem = surrogate_in(row, "row whose field at ")
        raise projection.failure(f"returned a {problem}")
    return text


def project_rows(projection: Projection, rows: Iterable[LogRow]) -> dict[str, dict[str, Any]]:
    """The view ``projection`` makes of ``rows`` (a log, in order) from no rows at all, in
    memory, each row as a catch-up writes it and a reader reads it back (``escli test``
    compares it with a scenario's ``then_rows``)."""
    _, changed = Batcher(projection, Empty(), 0, empty=True).apply(list(rows))
    return {key: json.loads(text) for key, text in changed.items() if text is not None}


class Empty:
    """A view with no rows (what ``rebuild_key`` folds from)."""

    def view_rows(self, name: str, build: int, keys: Iterable[str]) -> dict[str, str]:
        return {}
