"""``survey_versions``: the store counts, the survey only looks each counted version up."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from escli import DomainRegistry
from escli.app.versions import UPCAST, StoredVersion, survey_versions
from escli.stores.base import NewEvent, RecordedEvent, VersionCount, new_event_id
from escli.stores.sqlite import SQLiteStore
from tests.cli.test_versions import SHOP


class CountsOnly(SQLiteStore):
    """A store that fails any read of events: only ``version_counts`` may be asked."""

    asked: list[list[str]]

    def read(self, *args: object, **kwargs: object) -> Iterator[RecordedEvent]:
        raise AssertionError("the survey read a stream")

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        raise AssertionError("the survey read the global log")

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        self.asked.append(list(domains))
        return super().version_counts(domains, prefix=prefix)


def test_the_survey_asks_the_store_to_count_the_domains_named_and_reads_no_event(
    tmp_path: Path,
) -> None:
    (tmp_path / "shop.py").write_text(SHOP)
    store = CountsOnly(f"sqlite:///{tmp_path / 'events.db'}")
    store.asked = []
    old = NewEvent("shop.ItemAdded", "1.0", "test://shop", {"cart": "c", "quantity": 1}, "")
    store.append("shop-c1", [old._replace(event_id=new_event_id()) for _ in range(50)], 0)
    store.append("ghost-1", [old._replace(event_type="ghost.Thing", event_id=new_event_id())], 0)
    found = survey_versions(store, DomainRegistry([tmp_path]), ["shop"])
    assert store.asked == [["shop"]]
    [shop] = found.domains
    [stored] = [v for v in shop.versions if v.events]
    assert stored._replace(chain=None) == StoredVersion("shop.ItemAdded", "1.0", 50, UPCAST)
    assert stored.chain is not None and stored.chain.describe().startswith("add_note ")
    store.close()
