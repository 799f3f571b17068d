import pytest

from escli.stores.memory import MemoryStore
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_snapshots import TransactionalSnapshotsContract
from tests.stores.contract_transactions import TransactionalContract
from tests.stores.contract_views import EventLogContract, ViewsContract


class TestMemoryStore(
    EventStoreContract,
    OutboxContract,
    TransactionalContract,
    TransactionalSnapshotsContract,
    EventLogContract,
    ViewsContract,
):
    # The memory store's snapshots sit beside its transactions: a cache, checked on use.
    snapshots_are_transactional = False

    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()
