"""``escli pending`` lists what each target lacks; ``publish --pending`` without ``--to``
sends every target its own, and then nothing is pending."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run, open_store


def test_pending_lists_each_target_and_publish_pending_sends_them_all(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    a, b = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    store = open_store(store_url)
    store.set_pending(a, "combat-ogre", 1, 1)
    assert escli("dispatch", "combat", "attack", "troll", "5").exit_code == 0
    store.set_pending(b, "combat-troll", 1, 1)
    listed = json.loads(escli("pending", "--json").stdout)
    assert [
        (p["target"], p["stream"], p["from_generation"], p["to_generation"]) for p in listed
    ] == [
        (a, "combat-ogre", 1, 1),
        (b, "combat-troll", 1, 1),
    ]
    assert all(p["since"] for p in listed)  # the first lacking event's time
    shown = escli("pending", "--to", a).stdout.splitlines()
    assert shown[0].split() == ["target", "stream", "generations", "since"]
    assert shown[1].split()[:3] == [a, "combat-ogre", "1..1"] and len(shown) == 2
    sent = escli("publish", "--pending")
    assert sent.exit_code == 0, sent.stderr
    assert open_store(a).generation("combat-ogre") == 1
    assert open_store(b).generation("combat-troll") == 1
    assert json.loads(escli("pending", "--json").stdout) == []
    none = escli("publish", "--pending")
    assert (none.exit_code, none.stderr) == (0, "nothing pending for any target\n")
    refused = escli("publish", "combat-ogre")
    assert refused.exit_code == 2 and "--to URL names the target" in refused.stderr
