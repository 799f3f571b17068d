"""What a fingerprint covers (``escli.domain.fingerprint``): besides the modules that define
a projection, an aggregate, its state and events, every module of the domain's package they
import, transitively; no module of another package. The combat sample's ``roster`` reads
``BESTIARY`` from ``combat.state``: a change there makes its rows stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import escli.domain.fingerprint as fp
from escli.domain.discovery import DomainRegistry
from escli.domain.fingerprint import fingerprint, projection_fingerprint
from escli.domain.model import Domain
from tests.conftest import ROOT


@pytest.fixture
def combat_copy(tmp_path: Path) -> tuple[Domain, Path]:
    """The combat sample copied to a folder of the test's own, loaded from there."""
    folder = tmp_path / "combat"
    shutil.copytree(ROOT / "domains" / "combat", folder)
    return DomainRegistry([str(folder)]).get("combat"), folder


def prints(domain: Domain) -> tuple[str | None, str]:
    """Both fingerprints of ``domain``, made again from the files as they are now."""
    fp._MADE.pop(id(domain), None)  # made once per domain object: the files changed since
    return fingerprint(domain), projection_fingerprint(domain.projections["roster"])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_table_the_projection_imports_from_its_package_is_in_both(
    combat_copy: tuple[Domain, Path],
) -> None:
    domain, folder = combat_copy
    snapshot, view = prints(domain)
    edit(folder / "state.py", "900", "1000")  # the ogre of BESTIARY
    now_snapshot, now_view = prints(domain)
    assert now_view != view and now_snapshot != snapshot


def test_a_module_only_the_aggregate_imports_leaves_the_projection_as_it_was(
    combat_copy: tuple[Domain, Path],
) -> None:
    domain, folder = combat_copy
    snapshot, view = prints(domain)
    edit(folder / "commands.py", '"""', '"""Edited. ')  # imported by aggregate.py only
    now_snapshot, now_view = prints(domain)
    assert now_view == view and now_snapshot != snapshot


def test_the_same_files_give_the_same_fingerprints(combat_copy: tuple[Domain, Path]) -> None:
    domain, _ = combat_copy
    assert prints(domain) == prints(domain)
    assert None not in prints(domain)
