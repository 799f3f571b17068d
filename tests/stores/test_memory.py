import pytest

from escli.stores.memory import MemoryStore
from tests.stores.contract import TransactionalContract


class TestMemoryStore(TransactionalContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()
