"""Finding domain modules: the ``escli.domains`` entry point group, and folders.

A domain module is a Python module or package with a module-level ``domain`` (a ``Domain``).
Installed packages register it as an entry point (the built-in combat sample does too)::

    [project.entry-points."escli.domains"]
    combat = "escli_combat:domain"

Folders given with ``--domains PATH`` or ``ESCLI_DOMAINS`` (several joined with ``os.pathsep``)
hold domain modules as ``NAME.py`` files or ``NAME/`` packages; a PATH may also be one such
module. A module's file name is its domain's name, so only the module asked for is imported.
A domain from a folder wins over an installed one of the same name.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType

from escli.errors import InvalidInput, NotFound
from escli.model import Domain

__all__ = ["ENTRY_POINT_GROUP", "DomainRegistry", "load_domain"]

ENTRY_POINT_GROUP = "escli.domains"


# os.path rather than pathlib: pathlib (and the urllib.parse it imports) costs start-up time.


def _candidates(path: str) -> dict[str, str]:
    """Domain modules under ``path``: name -> file or package folder."""
    if os.path.isfile(path) and path.endswith(".py"):
        return {os.path.basename(path)[:-3]: path}
    if not os.path.isdir(path):
        raise InvalidInput(f"domains path {path!r} is neither a folder nor a .py file")
    if os.path.isfile(os.path.join(path, "__init__.py")):
        return {os.path.basename(os.path.abspath(path)): path}
    found: dict[str, str] = {}
    for name in sorted(os.listdir(path)):
        child = os.path.join(path, name)
        if name.startswith(("_", ".")):
            continue
        if name.endswith(".py") and os.path.isfile(child):
            found[name[:-3]] = child
        elif os.path.isfile(os.path.join(child, "__init__.py")):
            found[name] = child
    return found


def _import_path(name: str, path: str) -> ModuleType:
    module_name = f"escli_domain_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if os.path.isdir(path):
        spec = importlib.util.spec_from_file_location(
            module_name, os.path.join(path, "__init__.py"), submodule_search_locations=[path]
        )
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _as_domain(name: str, obj: object, origin: str) -> Domain:
    domain = getattr(obj, "domain", obj) if isinstance(obj, ModuleType) else obj
    if not isinstance(domain, Domain):
        raise InvalidInput(f"{origin} does not define a Domain named `domain`")
    if domain.name != name:
        raise InvalidInput(f"{origin} is registered as {name!r} but its domain is {domain.name!r}")
    return domain


def installed_entry_points(group: str) -> dict[str, str]:
    """Entry points of ``group`` in the installed distributions: name -> ``module:attr``.

    Reads each distribution's ``entry_points.txt`` straight from ``sys.path``, as
    ``importlib.metadata.entry_points`` does, without importing importlib.metadata (about
    20 ms, a quarter of the CLI's start-up). The first distribution on ``sys.path`` wins, as
    with importlib.metadata; a test checks both agree.
    """
    found: dict[str, str] = {}
    seen: set[str] = set()
    header = f"[{group}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist = name.rpartition(".")[0].split("-")[0].lower().replace("_", "-").replace(".", "-")
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(
                    os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8"
                ) as f:
                    text = f.read()
            except OSError:
                continue
            if header not in text:
                continue
            in_group = False
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    in_group = line == header
                elif in_group and "=" in line and not line.startswith(("#", ";")):
                    key, _, value = line.partition("=")
                    found.setdefault(key.strip(), value.strip())
    return found


def _load_entry_point(value: str) -> object:
    module_name, _, attrs = value.partition(":")
    obj: object = importlib.import_module(module_name.strip())
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def paths_from_env(value: str | None) -> list[str]:
    """The folders listed in ``ESCLI_DOMAINS`` (joined with ``os.pathsep``)."""
    return [p for p in (value or "").split(os.pathsep) if p]


class DomainRegistry:
    """The domains visible from folders and installed entry points, loaded on demand."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]] = ()) -> None:
        self._folder: dict[str, str] = {}
        for path in paths:
            self._folder.update(_candidates(os.fspath(path)))
        self._loaded: dict[str, Domain] = {}
        self._entry_points: dict[str, str] | None = None

    def _installed(self) -> dict[str, str]:
        if self._entry_points is None:
            self._entry_points = installed_entry_points(ENTRY_POINT_GROUP)
        return self._entry_points

    def names(self) -> list[str]:
        return sorted(set(self._folder) | set(self._installed()))

    def get(self, name: str) -> Domain:
        if name in self._loaded:
            return self._loaded[name]
        if name in self._folder:
            path = self._folder[name]
            domain = _as_domain(name, _import_path(name, path), path)
        elif name in self._installed():
            target = self._installed()[name]
            domain = _as_domain(name, _load_entry_point(target), f"entry point {name} = {target}")
        else:
            known = ", ".join(self.names()) or "none"
            raise NotFound(f"unknown domain {name!r} (known: {known})")
        self._loaded[name] = domain
        return domain

    def all(self) -> list[Domain]:
        return [self.get(name) for name in self.names()]

    def for_stream(self, stream: str) -> Domain:
        """The domain that owns a stream named ``<domain>-<id>``."""
        return self.get(Domain.domain_name_of(stream))


def load_domain(name: str, paths: Sequence[str | os.PathLike[str]] = ()) -> Domain:
    """One domain by name, from ``paths`` or the installed entry points."""
    return DomainRegistry(paths).get(name)
