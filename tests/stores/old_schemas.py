"""The SQLite schemas of stores an earlier escli wrote (schema version 1, no metadata), for
the tests that open them: each layout a store of that version may have."""

from __future__ import annotations

__all__ = ["V1_BY_STREAM", "V1_POSITION_ORDERED"]

# Rows kept by (stream, generation) (WITHOUT ROWID): the layout every store had before rows
# were kept in position order.
V1_BY_STREAM = """
CREATE TABLE events (
    stream       TEXT    NOT NULL,
    generation   INTEGER NOT NULL CHECK (generation > 0),
    position     INTEGER NOT NULL UNIQUE,
    event_id     TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    type_version TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (stream, generation)
) WITHOUT ROWID;
CREATE TABLE pending (
    target          TEXT    NOT NULL,
    stream          TEXT    NOT NULL,
    from_generation INTEGER NOT NULL,
    to_generation   INTEGER NOT NULL,
    PRIMARY KEY (target, stream)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""

# A version 1 store of the position-ordered layout (rows by rowid), which new stores had
# before version 2 added the metadata column.
V1_POSITION_ORDERED = """
CREATE TABLE events (stream TEXT NOT NULL, generation INTEGER NOT NULL CHECK (generation > 0),
    position INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL,
    type_version TEXT NOT NULL, source TEXT NOT NULL, recorded_at TEXT NOT NULL,
    data TEXT NOT NULL, UNIQUE (stream, generation));
CREATE TABLE pending (target TEXT NOT NULL, stream TEXT NOT NULL,
    from_generation INTEGER NOT NULL, to_generation INTEGER NOT NULL,
    PRIMARY KEY (target, stream)) WITHOUT ROWID;
PRAGMA user_version = 1;
"""
