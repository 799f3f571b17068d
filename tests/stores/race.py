"""Processes racing to dispatch on shared streams, for every store's concurrency tests."""

from __future__ import annotations

import multiprocessing

from escli import ConcurrencyConflict, dispatch, load_domain, open_store


def _attack(url: str, entities: list[str], attacks: int, offset: int, results: object) -> None:
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
    outcomes = [results.get(timeout=300) for _ in workers]
    for p in workers:
        p.join(timeout=30)
        assert p.exitcode == 0
    successes = {e: sum(ok[e] for ok, _ in outcomes) for e in entities}
    return successes, sum(conflicts for _, conflicts in outcomes)
