"""A SQLite store URL (or a bare path): the file's path, and whether it is opened read-only."""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.urls import bad_url

__all__ = ["path_from_url"]


def path_from_url(url: str) -> tuple[str, bool]:
    """``sqlite:///rel.db``, ``sqlite:////abs.db``, ``sqlite:rel.db`` or a bare path ->
    (path, read_only). ``?mode=ro`` opens the file read-only.

    Parsed by hand rather than with urllib.parse, which costs CLI start-up time.
    """
    if url[: len("sqlite:")].lower() != "sqlite:":
        return _checked_path(url, url), False
    raw, _, query = url[len("sqlite:") :].partition("?")
    if raw.startswith("///"):
        raw = raw[3:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    elif raw.startswith("//"):
        raise InvalidInput(bad_url("SQLite store", url, "it has no host: use sqlite:///PATH"))
    if "%" in raw:
        from urllib.parse import unquote

        raw = unquote(raw)
    if not raw:
        raise InvalidInput(bad_url("SQLite store", url, "it names no file"))
    options = dict(pair.partition("=")[::2] for pair in query.split("&") if pair)
    unknown = sorted(set(options) - {"mode"})
    if unknown:
        raise InvalidInput(f"unknown SQLite store option {unknown[0]!r} in {url!r} (known: mode)")
    mode = options.get("mode", "rw")
    if mode not in ("ro", "rw"):
        raise InvalidInput(f"SQLite store mode must be ro or rw, got {mode!r}")
    return _checked_path(raw, url), mode == "ro"


def _checked_path(path: str, url: str) -> str:
    if "\0" in path:  # no file name holds one; the OS would refuse it
        raise InvalidInput(bad_url("SQLite store", url, f"its path {path!r} holds a NUL character"))
    return path
