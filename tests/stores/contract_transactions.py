"""The ``Transactional`` contract: appends grouped in a transaction, visible together or
not at all, and ``append_streams``. Run on the stores that offer it (memory, SQLite,
PostgreSQL)."""

from __future__ import annotations

import pytest

from escli.errors import ConcurrencyConflict, StoreError
from escli.stores.base import Store, Transactional
from tests.stores.contract import Contract, new, unique_stream


class TransactionalContract(Contract):
    """The contract of a store that is also ``Transactional`` (its other reads and writes are
    those of ``EventStore``)."""

    def _transactional(self, store: Store) -> Transactional:
        assert isinstance(store, Transactional)
        return store

    def test_appends_in_a_transaction_are_stored_together_when_it_ends(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        with transactional.transaction():
            [first] = store.append(a, [new()], 0)
            store.append(b, [new(), new()], 0)
            store.append(a, [new()], 1)
            # Reads and look-ups inside see the transaction's own appends.
            assert store.generation(a) == 2
            assert [r.generation for r in store.read(b)] == [1, 2]
            assert store.find_ids([first.event_id], [a]) == {first.event_id: (a, 1)}
        assert (store.generation(a), store.generation(b)) == (2, 2)

    def test_an_error_in_a_transaction_leaves_none_of_its_appends(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(a, [new()], 0)
        written = new()
        with pytest.raises(ZeroDivisionError), transactional.transaction():
            store.append(a, [written], 1)
            store.append(b, [new(), new()], 0)
            raise ZeroDivisionError
        assert (store.generation(a), store.generation(b)) == (1, 0)
        assert store.find_ids([written.event_id], [a, b]) == {}
        store.append(b, [new()], 0)  # the store takes appends again
        assert store.generation(b) == 1

    def test_a_transaction_with_rollback_leaves_nothing_though_it_saw_its_appends(
        self, store: Store
    ) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(a, [new()], 0)
        written = new()
        with transactional.transaction(rollback=True):
            store.append(a, [written], 1)
            store.append(b, [new()], 0)
            assert (store.generation(a), store.generation(b)) == (2, 1)
            assert store.find_ids([written.event_id], [a]) == {written.event_id: (a, 2)}
        assert (store.generation(a), store.generation(b)) == (1, 0)
        assert store.find_ids([written.event_id], [a, b]) == {}
        assert [s.stream for s in store.streams() if s.stream in (a, b)] == [a]
        store.append(b, [written], 0)  # the id is free again
        assert store.generation(b) == 1

    def test_a_failed_append_in_a_transaction_undoes_only_itself(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        with transactional.transaction():
            [kept] = store.append(a, [new()], 0)
            with pytest.raises(ConcurrencyConflict):
                store.append(b, [new(), new()], 3)
            if self.refuses_duplicate_event_ids:
                with pytest.raises(StoreError, match=kept.event_id):
                    store.append(b, [new(), new()._replace(event_id=kept.event_id)], 0)
            store.append(b, [new()], 0)
        assert (store.generation(a), store.generation(b)) == (1, 1)

    def test_append_streams_writes_every_append_or_none(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(b, [new()], 0)
        transactional.append_streams([(a, [new(), new()], 0), (b, [new()], 1), (a, [new()], 2)])
        assert (store.generation(a), store.generation(b)) == (3, 2)
        with pytest.raises(ConcurrencyConflict) as caught:
            transactional.append_streams([(a, [new()], 3), (b, [new()], 1)])
        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (b, 1, 2)
        assert (store.generation(a), store.generation(b)) == (3, 2)
        if self.refuses_duplicate_event_ids:
            [stored] = list(store.read(a, 1, 1))
            with pytest.raises(StoreError, match=stored.event_id):
                transactional.append_streams(
                    [(a, [new()], 3), (b, [new()._replace(event_id=stored.event_id)], 2)]
                )
            assert (store.generation(a), store.generation(b)) == (3, 2)

    def test_append_streams_that_conflicts_inside_a_transaction_keeps_none_of_its_appends(
        self, store: Store
    ) -> None:
        # Every one or none, nested too: the caller may meet the conflict and go on with the
        # outer transaction (the mirror looks again), which must not find half the batch.
        transactional = self._transactional(store)
        a, b, c = unique_stream(), unique_stream(), unique_stream()
        store.append(b, [new()], 0)  # the batch below expects b empty
        with transactional.transaction():
            store.append(c, [new()], 0)
            with pytest.raises(ConcurrencyConflict):
                transactional.append_streams([(a, [new()], 0), (b, [new()], 0)])
            assert (store.generation(a), store.generation(b), store.generation(c)) == (0, 1, 1)
        assert (store.generation(a), store.generation(b), store.generation(c)) == (0, 1, 1)
