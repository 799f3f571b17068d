"""Reading CloudEvents files: any of the three formats into an ``EventParser``, with every
defect located.

Three formats, all of structured-mode CloudEvents in JSON (see ``escli.cloudevents.mapping`` for
the mapping):

- ``jsonl``: JSON Lines, one event per line (the default, and what ``--to cloudevents:``
  appends). Errors are located as ``FILE:LINE: message``, lines counted from 1.
- ``batch``: one JSON array of events (``application/cloudevents-batch+json``), written one
  event per line between ``[`` and ``]``. Errors: ``FILE: event N: message``, N from 1.
- ``event``: one event (``application/cloudevents+json``). Errors: ``FILE: message``.

Reading detects the format: a first non-blank character ``[`` is a batch; a file that is one
JSON object (over several lines or one, so a one-line file too) is an event; anything else
is JSON Lines. A UTF-8 byte-order mark that starts the file is skipped. Every defect of an
event is an ``InvalidInput`` located as above, in every format.

``read_events`` reads a whole file (replay ``--file``). Import (``escli.cloudevents.importing``)
reads through ``parse_stream`` too, but takes each chunk of checked events from the parser as
it is read (through its ``Progress``), so memory does not grow with the file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Final, NamedTuple, cast

from escli.cloudevents.mapping import EventError
from escli.cloudevents.parser import EventParser
from escli.cloudevents.progress import NO_PROGRESS, Progress
from escli.domain.calls import domain_stdout
from escli.errors import DomainError, InvalidInput
from escli.jsontext import DuplicateMemberError, loads_json_object_strict

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry
    from escli.domain.model import Domain

__all__ = [
    "BOM",
    "STDIN",
    "ParsedFile",
    "count_lines",
    "open_input",
    "parse_stream",
    "read_events",
]

STDIN: Final = "<stdin>"
_EVERY: Final = 4096  # events between progress updates
_BLOCK: Final = 1 << 18  # bytes per read
# Lines the parser's fast path takes at once: it works stage by stage over the chunk, which
# stays in the CPU's caches at this size (4096 lines were 30% slower).
_LINES: Final = 512
BOM: Final = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, skipped where a file starts


class ParsedFile(NamedTuple):
    """A file's checked events, sorted by stream, and how to say where each one was."""

    name: str
    kind: str  # "jsonl", "batch" or "event"
    parser: EventParser

    def where(self, location: int) -> str:
        """The prefix of an error about the event at ``location``."""
        if self.kind == "jsonl":
            return f"{self.name}:{location}"
        if self.kind == "batch":
            return f"{self.name}: event {location}"
        return self.name

    def ref(self, location: int) -> str:
        return f"line {location}" if self.kind == "jsonl" else f"event {location}"

    def error(self, location: int, message: str) -> InvalidInput:
        return InvalidInput(f"{self.where(location)}: {message}")


# The reading API (``read_events`` here, ``escli.cloudevents.importing`` a chunk at a time): open a
# file or standard input, count its lines for a progress bar, parse it into an EventParser.


@contextmanager
def open_input(path: str) -> Iterator[tuple[IO[bytes], str]]:
    """The bytes of ``path`` (``-``: standard input) and the name messages give it; a file
    that cannot be opened is ``InvalidInput``."""
    if path == "-":
        yield sys.stdin.buffer, STDIN
        return
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from e
    with f:
        yield f, path


def count_lines(path: str) -> int | None:
    """Lines in a regular file (a total for the progress bar), None for anything else."""
    if path == "-" or not os.path.isfile(path):
        return None
    count = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            count += block.count(b"\n")
    return count


def read_events(
    path: str,
    domains: DomainRegistry | Iterable[Domain],
    *,
    skip_unknown: bool = False,
    progress: Progress = NO_PROGRESS,
) -> ParsedFile:
    """Read and check every event of a CloudEvents file (``-`` is standard input).

    Raises ``InvalidInput`` located at the first event that is not a valid escli event, and
    ``DomainError`` (located too) when an event class's own code fails."""
    parser = EventParser(domains, skip_unknown=skip_unknown)
    progress.start("checking", count_lines(path) if progress.enabled else None)
    with open_input(path) as (stream, name):
        kind = parse_stream(stream, name, parser, progress)
    progress.update(parser.count)
    return ParsedFile(name, kind, parser)


def parse_stream(stream: IO[bytes], name: str, parser: EventParser, progress: Progress) -> str:
    """Read and check every event of ``stream`` into ``parser``; returns the file's kind.
    ``progress`` hears after each chunk of events added (an import takes them from there).

    Event classes are domain code (a ``__post_init__``): while the file is read, what they
    print goes to stderr (once per file, not per event: it costs a third of a microsecond),
    and what they raise is the domain's ``DomainError``, located at its event."""
    try:
        with domain_stdout():
            return _read(stream, name, parser, progress)
    except RecursionError:
        # Python's JSON parser recurses per nesting level; no event is nested that deep.
        raise InvalidInput(f"{name}: JSON nested too deeply to be an event") from None


def _located(error: DomainError, where: str) -> DomainError:
    """A domain's failure to decode an event, saying which event it was."""
    return DomainError(f"{error} (decoding the event at {where})", error.traceback)


def _read(stream: IO[bytes], name: str, parser: EventParser, progress: Progress) -> str:
    head: list[bytes] = []  # the lines up to the first that is not blank
    for raw in stream:
        if not head:
            # A byte-order mark is no part of the JSON (editors on Windows write one).
            raw = raw.removeprefix(BOM)
        head.append(raw)
        if raw.strip():
            break
    first = head[-1] if head else b""
    start = first.lstrip()[:1]
    if start == b"[":
        _read_batch(b"".join(head) + stream.read(), name, parser, progress)
        return "batch"
    if start == b"{" and _incomplete(first):
        text = b"".join(head) + stream.read()
        event = _whole_event(text, name)
        if event is not None:
            _add_event(parser, event, name)
            return "event"
        blocks: Iterable[bytes] = [text]
    else:
        more: list[bytes] = []  # after a one-line object: is there anything else?
        if start == b"{" and _is_json(first):
            for raw in stream:
                more.append(raw)
                if raw.strip():
                    break
            if not any(raw.strip() for raw in more):
                event = _whole_event(b"".join(head + more), name)
                if event is not None:
                    _add_event(parser, event, name)
                    return "event"
        blocks = _blocks(b"".join(head + more), stream)
    _read_lines(blocks, name, parser, progress)
    return "jsonl"


def _add_event(parser: EventParser, event: object, name: str) -> None:
    """Check the one event of an event file, an error located at the file."""
    try:
        # size=0: size is only a SHOULD (a warning), and imports report errors only.
        parser.add_object(event, 1, size=0)
    except EventError as e:
        raise InvalidInput(f"{name}: {e}") from None
    except DomainError as e:
        raise _located(e, name) from e.__cause__


def _blocks(start: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """``start``, then the rest of ``stream``, in blocks of whole lines (a file's last line
    may lack its newline): far fewer objects than a bytes object per line."""
    rest = start
    while block := stream.read(_BLOCK):
        rest += block
        cut = rest.rfind(b"\n") + 1
        if cut:
            yield rest[:cut]
            rest = rest[cut:]
    if rest:
        yield rest


def _incomplete(line: bytes) -> bool:
    """True when a line is the start of a longer JSON text (the JSON ends at the line's end),
    not a whole JSON text or a broken one."""
    try:
        json.loads(line)
    except json.JSONDecodeError as e:
        return e.pos >= len(line.rstrip())
    except ValueError:
        return False
    return False


def _whole_event(text: bytes, name: str) -> object | None:
    """The one JSON object a file holds, None when it is not one (it is JSON Lines then, and
    its first line is what is wrong). A file that is a broken multi-line object is an error
    located at its line."""
    try:
        return loads_json_object_strict(text.decode("utf-8"))
    except DuplicateMemberError as e:
        raise InvalidInput(f"{name}: {e}") from None
    except json.JSONDecodeError as e:
        later = [line for line in text.splitlines()[1:] if line.strip()]
        if later and later[0].lstrip()[:1] == b"{" and _is_json(later[0]):
            return None  # line 2 is an event: JSON Lines whose first line is broken
        cut = "; the file ends inside the event: was it cut off?" if e.pos >= len(text) else ""
        raise InvalidInput(
            f"{name}:{e.lineno}: not JSON: {e.msg} (column {e.colno}){cut}"
        ) from None
    except (ValueError, UnicodeDecodeError):
        return None


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _read_lines(
    blocks: Iterable[bytes], name: str, parser: EventParser, progress: Progress
) -> None:
    """JSON Lines in chunks: the parser's fast path takes a whole chunk, or its lines go
    one by one through the general path, which locates what is wrong."""
    number = 1
    add = parser.add_line
    for block in blocks:
        ended = block.endswith(b"\n")
        try:
            texts: list[str] | list[bytes] = block.decode("utf-8").split("\n")
            decoded = True
        except UnicodeDecodeError:
            texts, decoded = block.split(b"\n"), False
        if ended:
            del texts[-1]
        last = len(texts) - 1
        for start in range(0, len(texts), _LINES):
            part = texts[start : start + _LINES]
            if decoded and parser.add_lines(cast("list[str]", part), number):
                number += len(part)
            else:
                for offset, line in enumerate(cast("list[str | bytes]", part), start=start):
                    try:
                        add(line if isinstance(line, str) else line.decode("utf-8"), number)
                    except (EventError, UnicodeDecodeError) as e:
                        problem = _line_problem(line, ended or offset < last, e)
                        raise InvalidInput(f"{name}:{number}: {problem}") from None
                    except DomainError as e:
                        raise _located(e, f"{name}:{number}") from e.__cause__
                    number += 1
            progress.update(number - 1)


def _line_problem(line: str | bytes, newline: bool, error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start + 1})"
    if not line.strip():
        return "empty line; JSON Lines has one event on every line"
    if not newline and str(error).startswith("not JSON"):
        return f"{error}; the last line has no newline: was the file cut off?"
    return str(error)


def _read_batch(text: bytes, name: str, parser: EventParser, progress: Progress) -> None:
    try:
        events = loads_json_object_strict(text.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{name}: not UTF-8 text (byte {e.start + 1})") from None
    except DuplicateMemberError as e:
        index, _, pointer = e.pointer[1:].partition("/")
        raise InvalidInput(
            f"{name}: event {int(index) + 1}: duplicate member name {e.name!r} at /{pointer}"
        ) from None
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{name}:{e.lineno}: not JSON: {e.msg} (column {e.colno})") from None
    except ValueError as e:
        raise InvalidInput(f"{name}: not JSON: {e}") from None
    assert isinstance(events, list)  # the text starts with '['
    add = parser.add_object
    for number, event in enumerate(events, start=1):
        try:
            # size=0: size is only a SHOULD (a warning), and imports report errors only.
            add(event, number, size=0)
        except EventError as e:
            raise InvalidInput(f"{name}: event {number}: {e}") from None
        except DomainError as e:
            raise _located(e, f"{name}: event {number}") from e.__cause__
        if not number % _EVERY:
            progress.update(number)
