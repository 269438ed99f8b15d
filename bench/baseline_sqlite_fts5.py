#!/usr/bin/env python3
"""Baseline for Needle's import benchmark: the obvious Python + SQLite FTS5 importer.

Usage: python3 bench/baseline_sqlite_fts5.py INPUT.jsonl DBPATH

Reads message.md JSON lines, stores them in a SQLite table (WAL mode) with an FTS5 index on the
text, and prints one JSON line:

    {"baseline":"python-sqlite3-fts5","messages":N,"seconds":S,"rows_per_s":R,"peak_rss_mb":M}

It is what a competent engineer would write in an afternoon with the standard library only
(Python 3.11+), so Needle's own import has a fair, reproducible number to beat. Choices, each
the common default:

- one table keyed by (channel, id) with INSERT OR IGNORE, so re-importing adds nothing;
- an external-content FTS5 table fed by an AFTER INSERT trigger, so ignored duplicates are not
  indexed twice and the text is stored once;
- executemany in one transaction per 10,000 rows; journal_mode=WAL, synchronous=NORMAL.

`messages` counts the lines read as messages (lines that are not valid JSON objects are
skipped and counted on stderr); `seconds` covers reading, parsing, inserting and indexing.
Use a fresh DBPATH for each timed run: an existing database is appended to, not replaced.
"""

import json
import resource
import sqlite3
import sys
import time

BATCH = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    author_handle TEXT,
    text TEXT NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (channel, id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    text, content='messages', content_rowid='rowid'
);
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.rowid, new.text);
END;
"""

INSERT = (
    "INSERT OR IGNORE INTO messages (id, channel, created_at, author_handle, text, extra) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# Fields that get their own column; everything else goes into `extra` as JSON.
COLUMNS = ("id", "channel", "created_at", "text")


def row(message):
    """The insert parameters for one decoded message."""
    author = message.get("author") or {}
    handle = author.get("handle") if isinstance(author, dict) else None
    extra = {k: v for k, v in message.items() if k not in COLUMNS}
    return (
        str(message["id"]),
        str(message["channel"]),
        str(message["created_at"]),
        handle,
        message.get("text") or "",
        json.dumps(extra, ensure_ascii=False, separators=(",", ":")),
    )


def peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    input_path, db_path = argv[1], argv[2]

    started = time.perf_counter()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)

    messages = 0
    skipped = 0
    batch = []

    def flush():
        db.execute("BEGIN")
        db.executemany(INSERT, batch)
        db.execute("COMMIT")
        batch.clear()

    with open(input_path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
                batch.append(row(message))
            except (ValueError, KeyError, TypeError, AttributeError):
                skipped += 1
                continue
            messages += 1
            if len(batch) >= BATCH:
                flush()
    if batch:
        flush()
    db.close()
    seconds = time.perf_counter() - started

    if skipped:
        print(f"skipped {skipped} invalid lines", file=sys.stderr)
    print(
        json.dumps(
            {
                "baseline": "python-sqlite3-fts5",
                "messages": messages,
                "seconds": round(seconds, 3),
                "rows_per_s": round(messages / seconds) if seconds > 0 else None,
                "peak_rss_mb": round(peak_rss_mb(), 1),
            },
            separators=(",", ":"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
