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
from typing import NamedTuple

from escli.domain.calls import domain_stdout, failure, package_home, remember
from escli.domain.model import Domain
from escli.errors import DomainError, InvalidInput, NotFound

__all__ = ["ENTRY_POINT_GROUP", "DomainRegistry", "Survey", "domain_folders", "load_domain"]

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


# Modules imported from folders, by file: a second folder's module of the same name gets a
# module name of its own instead of the first one's cached module.
_IMPORTED: dict[str, ModuleType] = {}
# The domains folders added to sys.path, each once.
_HOMES: set[str] = set()


def _import_path(name: str, path: str, home: str) -> ModuleType:
    """Import the domain module at ``path``, its folder ``home`` on ``sys.path`` (appended, and
    left there, so its helper modules import by their plain names, now or lazily)."""
    key = os.path.abspath(path)
    if key in _IMPORTED:
        return _IMPORTED[key]
    if home not in _HOMES:
        _HOMES.add(home)
        if home not in sys.path:
            sys.path.append(home)
    module_name, module = _module_name(name, path)
    if module is not None:  # a sibling imported it already: the same module, not a second run
        _check_helpers(path, home)
        _IMPORTED[key] = module
        return module
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
        with domain_stdout():
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        del sys.modules[module_name]
        raise _import_failure(name, path, home, e) from e
    except BaseException:
        del sys.modules[module_name]
        raise
    try:
        _check_helpers(path, home)
    except DomainError:
        del sys.modules[module_name]
        raise
    _IMPORTED[key] = module
    return module


def _module_name(name: str, path: str) -> tuple[str, ModuleType | None]:
    """The name to import the module at ``path`` as, and the module when it is imported
    already. Its plain name when that is what a sibling's ``import NAME`` finds (a helper
    module listed, then imported by a domain beside it, runs once: one module object);
    else a name of its own, so that a module of the same name elsewhere is not taken."""
    file = os.path.abspath(os.path.join(path, "__init__.py") if os.path.isdir(path) else path)
    if name.isidentifier():
        existing = sys.modules.get(name)
        if existing is not None:
            if _file_of(existing) == file:
                return name, existing
        else:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            if spec is not None and spec.origin and os.path.abspath(spec.origin) == file:
                return name, None
    module_name, number = f"escli_domain_{name}", 1
    while module_name in sys.modules:
        module_name, number = f"escli_domain_{name}_{number}", number + 1
    return module_name, None


def _file_of(module: ModuleType) -> str | None:
    file = getattr(module, "__file__", None)
    return os.path.abspath(file) if isinstance(file, str) else None


def _import_failure(name: str, origin: str, home: str | None, error: BaseException) -> DomainError:
    found = failure(name, home, error)
    if found is not None:
        return found
    import traceback

    described = "".join(traceback.format_exception_only(type(error), error)).strip()
    return DomainError(f"{origin}: domain {name!r} does not import: {described.splitlines()[-1]}")


def _check_helpers(path: str, home: str) -> None:
    """Refuse a helper module that Python took from another domains folder: two folders on
    ``sys.path`` that each hold ``helpers.py`` would otherwise share the first one silently.
    A module escli imported as a listed domain or helper is no sibling's import: skipped."""
    listed = {id(module) for module in _IMPORTED.values()}
    for entry in os.listdir(home):
        top = entry[:-3] if entry.endswith(".py") else entry
        module = sys.modules.get(top)
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or id(module) in listed:
            continue
        folder = os.path.dirname(os.path.abspath(file))
        if os.path.basename(file) == "__init__.py":
            folder = os.path.dirname(folder)
        if folder != home and folder in _HOMES:
            raise DomainError(
                f"{path}: {top!r} is imported from {file}, not from the {top!r} beside it: "
                "two domains folders hold a module of that name; rename one"
            )


def _as_domain(name: str, obj: object, origin: str) -> Domain | None:
    """The module's (or entry point's) ``Domain``; None for a module with no ``domain``."""
    if isinstance(obj, ModuleType):
        if not hasattr(obj, "domain"):
            return None
        obj = obj.domain
    if not isinstance(obj, Domain):
        raise DomainError(
            f"{origin}: `domain` is {type(obj).__name__} {obj!r:.40}, not an escli Domain"
        )
    if obj.name != name:
        raise DomainError(f"{origin} is registered as {name!r} but its domain is {obj.name!r}")
    return obj


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


def _load_entry_point(name: str, value: str) -> object:
    module_name, _, attrs = value.partition(":")
    try:
        with domain_stdout():
            obj: object = importlib.import_module(module_name.strip())
    except (Exception, SystemExit) as e:
        origin = f"entry point {name} = {value}"
        raise _import_failure(name, origin, _module_home(module_name.strip()), e) from e
    for attr in filter(None, attrs.strip().split(".")):
        obj = getattr(obj, attr)
    return obj


def _module_home(module_name: str) -> str | None:
    """Where an installed module that failed to import lives, without importing it."""
    try:
        spec = importlib.util.find_spec(module_name.partition(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.abspath(next(iter(spec.submodule_search_locations)))
    return os.path.abspath(spec.origin) if spec.origin else None


def _hint(name: str) -> str:
    """Where an unknown domain may be: a ``domains/`` folder of the current one that holds
    it, which escli reads only when told (``--domains``, ``ESCLI_DOMAINS``, a project file),
    and the closest known name."""
    try:
        beside = _candidates("domains") if os.path.isdir("domains") else {}
    except InvalidInput:
        beside = {}
    if name in beside:
        return (
            f"; ./domains holds {os.path.basename(beside[name])}: pass --domains domains, "
            "or write a project file that names it (escli init)"
        )
    return ""


def domain_folders() -> frozenset[str]:
    """The domains folders this process has put on ``sys.path`` (as their modules loaded)."""
    return frozenset(_HOMES)


def paths_from_env(value: str | None) -> list[str]:
    """The folders listed in ``ESCLI_DOMAINS`` (joined with ``os.pathsep``)."""
    return [p for p in (value or "").split(os.pathsep) if p]


class Survey(NamedTuple):
    """What ``DomainRegistry.load_all`` found: the domains, the helper modules (files with no
    ``domain``, skipped) and the domains that failed to load."""

    domains: list[Domain]
    helpers: list[str]
    failures: list[DomainError]


# The samples escli itself registers (pyproject.toml's entry points; a test checks). A
# project that names its own domains does not list them (``hide_samples``).
SAMPLES = frozenset({"combat"})


class DomainRegistry:
    """The domains visible from folders and installed entry points, loaded on demand.

    With ``hide_samples`` the built-in samples are not listed (``names``, ``all``, the
    "known:" of an unknown domain) but still load when asked for by name: a project that
    names its own domains should not see combat in every list, and a user who types
    ``escli dispatch combat ...`` there still gets it."""

    def __init__(
        self, paths: Iterable[str | os.PathLike[str]] = (), *, hide_samples: bool = False
    ) -> None:
        self._folder: dict[str, str] = {}
        for path in paths:
            self._folder.update(_candidates(os.fspath(path)))
        self._loaded: dict[str, Domain] = {}
        self._entry_points: dict[str, str] | None = None
        self._hidden = SAMPLES if hide_samples else frozenset()

    def _installed(self) -> dict[str, str]:
        if self._entry_points is None:
            self._entry_points = installed_entry_points(ENTRY_POINT_GROUP)
        return self._entry_points

    def names(self) -> list[str]:
        installed = set(self._installed()) - self._hidden
        return sorted(set(self._folder) | installed)

    def get(self, name: str) -> Domain:
        domain = self._load(name)
        if domain is None:
            raise NotFound(
                f"unknown domain {name!r}: {self._folder[name]} has no `domain` (a helper "
                "module for the domains beside it, not a domain)"
            )
        return domain

    def _load(self, name: str) -> Domain | None:
        """The domain ``name``; None for a module of a folder that has no ``domain``."""
        if name in self._loaded:
            return self._loaded[name]
        if name in self._folder:
            path = self._folder[name]
            home = os.path.dirname(os.path.abspath(path))
            domain = _as_domain(name, _import_path(name, path, home), path)
            if domain is None:
                return None
            domain.home = domain.home or home
        elif name in self._installed():
            target = self._installed()[name]
            origin = f"entry point {name} = {target}"
            domain = _as_domain(name, _load_entry_point(name, target), origin)
            if domain is None:
                raise DomainError(f"{origin} names a module with no `domain`")
            domain.home = domain.home or package_home(target.partition(":")[0].strip())
        else:
            known = ", ".join(self.names()) or "none"
            from escli.suggest import did_you_mean

            hint = _hint(name) or did_you_mean(name, self.names())
            raise NotFound(f"unknown domain {name!r} (known: {known}){hint}")
        remember(name, domain.home)
        domain.check_upcasters()  # a broken chain: the domain does not load
        self._loaded[name] = domain
        return domain

    def all(self) -> list[Domain]:
        """Every domain; helper modules (with no ``domain``) are left out, a domain that
        fails to load raises its ``DomainError``."""
        found = self.load_all()
        if found.failures:
            raise found.failures[0]
        return found.domains

    def load_all(self) -> Survey:
        """Every domain that loads, the helper modules left out, and the failures."""
        survey = Survey([], [], [])
        for name in self.names():
            try:
                domain = self._load(name)
            except DomainError as e:
                survey.failures.append(e)
                continue
            if domain is None:
                survey.helpers.append(self._folder[name])
            else:
                survey.domains.append(domain)
        return survey

    def for_stream(self, stream: str) -> Domain:
        """The domain that owns a stream named ``<domain>-<id>``."""
        return self.get(Domain.domain_name_of(stream))


def load_domain(name: str, paths: Sequence[str | os.PathLike[str]] = ()) -> Domain:
    """One domain by name, from ``paths`` or the installed entry points."""
    return DomainRegistry(paths).get(name)
