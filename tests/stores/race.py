"""Processes racing to dispatch on shared streams, for every store's concurrency tests."""

from __future__ import annotations

import faulthandler
import multiprocessing
import queue
import sys

from escli import ConcurrencyConflict, dispatch, load_domain, open_store

# A worker's whole run takes seconds; one still at work after this is stuck: it prints its
# stack (to the test's captured stderr) and exits, and the test fails saying so.
STUCK_S = 240


def _attack(url: str, entities: list[str], attacks: int, offset: int, results: object) -> None:
    faulthandler.dump_traceback_later(STUCK_S, exit=True, file=sys.stderr)
    domain = load_domain("combat")
    attack = domain.command_spec("attack").cls
    store = open_store(url)
    ok = dict.fromkeys(entities, 0)
    conflicts = 0
    for n in range(attacks):
        entity = entities[(n + offset) % len(entities)]
        try:
            dispatch(domain, attack(entity, 1), store)
            ok[entity] += 1
        except ConcurrencyConflict:
            conflicts += 1
    store.close()
    results.put((ok, conflicts))  # type: ignore[attr-defined]


def race(url: str, entities: list[str], processes: int, attacks: int) -> tuple[dict[str, int], int]:
    """Spawn ``processes`` workers that each dispatch ``attacks`` attacks round the entities;
    the successful dispatches per entity, and the number of conflicts."""
    domain = load_domain("combat")
    store = open_store(url)
    for entity in entities:
        dispatch(domain, domain.command_spec("spawn").cls(entity, 10**9), store)
    store.close()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_attack, args=(url, entities, attacks, i, results))
        for i in range(processes)
    ]
    for p in workers:
        p.start()
    try:
        outcomes = [results.get(timeout=STUCK_S + 30) for _ in workers]
    except queue.Empty:
        raise AssertionError(
            f"a worker sent no result within {STUCK_S + 30} s (its stack is in the stderr)"
        ) from None
    finally:
        # None left behind: multiprocessing joins live children at exit, without a timeout.
        for p in workers:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in workers] == [0] * len(workers)
    successes = {e: sum(ok[e] for ok, _ in outcomes) for e in entities}
    return successes, sum(conflicts for _, conflicts in outcomes)
