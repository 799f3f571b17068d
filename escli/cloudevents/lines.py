"""The fast paths' pattern (``escli.cloudevents.parser``): a line exactly as ``to_json``
writes it, and the metadata such a line carries."""

from __future__ import annotations

import re
from typing import Final

from escli.cloudevents.mapping import IDS, KEPT
from escli.stores.metadata import CONTEXT_ATTRIBUTES, is_id

__all__ = ["LINE_RE", "line_metadata"]

# A line exactly as ``to_json`` writes it, with 'Z' times and no escapes in the strings.
# The fast paths read these; anything else takes the general path, which gives the same
# result for these lines (tests check both agree) and the error messages. Source, type,
# subject and typeversion (groups 2 and 4) are only looked up, among those the general path
# accepted: it caches none with a '\', so those strings hold no escape either, and '[^"]'
# (faster than _PLAIN) finds their ends. Group 6 is the metadata (string extensions after
# ``generation``, none with an escape), "" for none.
# Printable ASCII but '"' and '\': a JSON string as is. Its repeats are possessive (a little
# faster): they never hold the '"' that ends them.
_PLAIN: Final = r"[ !#-\[\]-~]"
# A date that exists, by the validator's rule (the Gregorian leap years), in escli's range
# (``escli.times``: with 'Z', any year but 0000): days 29-31 only in the months that have
# them.
_DATE: Final = (
    r"(?!0000)(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[048]|[2468][048]|[13579][26])00)"
    r"-02-29)"
)
_PAIR: Final = r', "[a-z0-9]{1,20}": "' + _PLAIN + r'*+"'
LINE_RE: Final = re.compile(
    r'\{"specversion": "1\.0", "id": "(' + _PLAIN + r'++)"'
    r'(, "source": "[^"]*+", "type": "[^"]*+", "subject": "[^"]*+", "time": ")('
    + _DATE
    + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?)Z\""
    r'(, "datacontenttype": "application/json", "typeversion": "[^"]*+")'
    r', "generation": ([1-9][0-9]{0,8})((?:' + _PAIR + r')*+), "data": (\{.*\})\}\n?'
)
_PAIR_RE: Final = re.compile(r', "([a-z0-9]{1,20})": "(' + _PLAIN + r'*+)"')
_NOT_METADATA: Final = CONTEXT_ATTRIBUTES | set(KEPT)
# Metadata text -> its pairs: the events of one dispatch, or of one script, share theirs.
_CACHE: dict[str, dict[str, str]] = {}
_CACHE_SIZE: Final = 4096


def line_metadata(text: str) -> dict[str, str] | None:
    """The pairs of group 6 of ``LINE_RE`` (None for ""); ``ValueError`` when a name repeats
    or is not one metadata takes (the general path says what is wrong)."""
    if not text:
        return None
    found = _CACHE.get(text)
    if found is None:
        pairs = _PAIR_RE.findall(text)
        found = dict(pairs)
        if len(found) != len(pairs) or not _NOT_METADATA.isdisjoint(found):
            raise ValueError(text)
        if not all(is_id(found[name]) for name in IDS if name in found):
            raise ValueError(text)  # not an id: the general path says so
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[text] = found
    return found
