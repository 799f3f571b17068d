import pytest

from escli.stores.memory import MemoryStore
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_transactions import TransactionalContract


class TestMemoryStore(EventStoreContract, OutboxContract, TransactionalContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()
