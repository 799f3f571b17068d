"""CloudEvents export and import throughput, next to the SDK doing the same in the same run.

    python benchmarks/cloudevents_bench.py [--events 100000]

- export: recorded events -> CloudEvents JSON Lines text. escli: ``export_events`` (the fast
  path, ``escli.cloudevents.write.to_json``). SDK: a ``CloudEvent`` per event
  (``to_cloudevent``) written by the SDK's ``JSONFormat``. Same bytes out (a test proves it).
- import: a JSON Lines file -> domain events ready to append. escli: ``read_events``, which
  checks every event strictly (CloudEvents rules, escli's rules, data decoded into its
  class). SDK: ``JSONFormat().read`` per line and ``from_cloudevent`` to get the domain event
  (the least an SDK-based import must do); it checks next to nothing (it would invent a
  missing id or time), so escli still does more work here.

Each figure is the best of --repeats runs, escli's and the SDK's taken in turn; the target
is escli >= 5x the SDK for both.

"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from escli.cloudevents.files import export_events
from escli.cloudevents.formats import read_events
from escli.cloudevents.sdk import from_cloudevent, to_cloudevent
from escli.domain.discovery import load_domain
from escli.stores.base import RecordedEvent, new_event_id, now_rfc3339


def _sdk_json_format() -> type:
    """The SDK's ``JSONFormat`` (imported here: escli's fast paths never import the SDK)."""
    from cloudevents.core.formats.json import JSONFormat

    return JSONFormat


def make_records(events: int) -> list[RecordedEvent]:
    """A fight over ten streams: attacks, with a heal every tenth event."""
    source = "events://escli/samples/combat"
    records = []
    for n in range(events):
        entity = f"ogre{n % 10}"
        generation = n // 10 + 1
        if n % 10 == 9:
            kind, data = "combat.EntityHealed", {"entity_id": entity, "amount": 50}
        else:
            kind, data = (
                "combat.EntityAttacked",
                {"entity_id": entity, "damage": 150, "weapon": "axe"},
            )
        records.append(
            RecordedEvent(
                f"combat-{entity}",
                generation,
                new_event_id(),
                kind,
                "2.0" if kind == "combat.EntityAttacked" else "1.0",
                source,
                data,
                now_rfc3339(),
                n + 1,
            )
        )
    return records


def best_of_each(
    ours: Callable[[], object], sdk: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """The best time of each, their runs taken in turn: a slow spell of a shared machine
    falls on both, not on whichever happened to run then."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for f, taken in zip((ours, sdk), times, strict=True):
            start = time.perf_counter()
            f()
            taken.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def bench_cloudevents(events: int, repeats: int = 5) -> list[str]:
    """The export and import figures, one line each, with the SDK's and the ratio."""
    records = make_records(events)
    fmt = _sdk_json_format()()

    def ours_export() -> str:
        out = io.StringIO()
        assert export_events(records, out) == events
        return out.getvalue()

    def sdk_export() -> str:
        out = io.StringIO()
        for r in records:
            out.write(fmt.write(to_cloudevent(r)).decode("utf-8") + "\n")
        return out.getvalue()

    assert ours_export() == sdk_export()
    export = tuple(events / t for t in best_of_each(ours_export, sdk_export, repeats))

    work = Path(tempfile.mkdtemp(prefix="escli-bench-ce-"))
    try:
        path = work / "events.jsonl"
        path.write_text(ours_export(), encoding="utf-8")
        combat = load_domain("combat")

        def ours_import() -> None:
            parsed = read_events(str(path), [combat])
            assert parsed.parser.count == events

        def sdk_import() -> None:
            count = 0
            domains = [combat]
            with path.open("rb") as f:
                for line in f:
                    from_cloudevent(fmt.read(None, line), domains)
                    count += 1
            assert count == events

        imported = tuple(events / t for t in best_of_each(ours_import, sdk_import, repeats))
    finally:
        shutil.rmtree(work)

    return [
        f"cloudevents {name:6}  {ours:9,.0f} ev/s   sdk {sdk:9,.0f} ev/s   "
        f"ratio {ours / sdk:.2f}x   ({events:,} events, JSON Lines)"
        for name, (ours, sdk) in (("export", export), ("import", imported))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for line in bench_cloudevents(args.events, args.repeats):
        print(line)


if __name__ == "__main__":
    main()
