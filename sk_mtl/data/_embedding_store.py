"""The disk cache of text embeddings: one SQLite file shared by every process that uses it.

A row per (model key, text): the model key is a digest of what the embeddings depend on (the
model's files or weights, and the backend), the text is stored as a 16-byte BLAKE2b digest of
its UTF-8 bytes (no text is written to disk), the vector as float32 bytes. SQLite makes each
write atomic and lets any number of processes read and write the file at once (write-ahead
log; on a local disk, or a network file system with working locks). A lock file per model key
(``fcntl.flock``, POSIX) is held from the look-up of a call's missing texts to the write of
their embeddings, so processes that need the same texts at the same time encode them once:
the second waits for the first, then reads.

The size counted is the vectors' bytes plus 40 bytes a row (keys and time stamp); the file is
larger by SQLite's page overhead. Past the limit (kept in the file, so shared by all its
users), the least recently used rows are deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no cross-process lock (SQLite still keeps the file whole)
    fcntl = None

__all__ = ["DEFAULT_DISK_CACHE_MAX_BYTES", "DiskCache", "text_digest"]

#: Default size limit of the disk cache, in bytes (1 GiB: about 680,000 texts with a
#: 384-dimensional model).
DEFAULT_DISK_CACHE_MAX_BYTES = 2**30

_FILE = "embeddings.sqlite3"
_ROW_OVERHEAD = 40  # bytes counted per row beside the vector: two 16-byte keys, a time stamp
_CHUNK = 500  # keys per SELECT (below SQLite's oldest limit of 999 variables)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model BLOB NOT NULL, text BLOB NOT NULL, vector BLOB NOT NULL, used REAL NOT NULL,
    PRIMARY KEY (model, text)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS embeddings_used ON embeddings (used);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO settings VALUES ('bytes', 0);
"""
_READY: set[tuple[int, Path]] = set()  # (process, file) whose schema is known to exist


def text_digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _model_digest(model_key: str) -> bytes:
    return hashlib.blake2b(model_key.encode("utf-8"), digest_size=16).digest()


class DiskCache:
    """The cache file in ``folder`` (created on first use)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / _FILE

    # ------------------------------------------------------------------ connection, locks
    @contextlib.contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        # A connection per use: safe across threads and forked processes. The long timeout
        # lets a writer wait behind another's insert or eviction.
        if not self.path.exists():  # new, or deleted since
            _READY.discard((os.getpid(), self.path))
            self.folder.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=600, isolation_level=None)
        try:
            if (os.getpid(), self.path) not in _READY:
                con.execute("PRAGMA journal_mode=WAL")  # kept in the file
                con.executescript(_SCHEMA)
                _READY.add((os.getpid(), self.path))
            con.execute("PRAGMA synchronous=NORMAL")
            if write:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            else:
                yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def lock(self, model_key: str) -> Iterator[None]:
        """Hold the lock of ``model_key`` (blocks while another process holds it)."""
        if fcntl is None:
            yield
            return
        locks = self.folder / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"{_model_digest(model_key).hex()}.lock"
        with open(path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------------ rows
    def get(self, model_key: str, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored rows of ``texts`` (those found), marked as just used."""
        by_digest = {text_digest(t): t for t in texts}
        if not by_digest or not self.path.exists():
            return {}
        model = _model_digest(model_key)
        found: dict[str, np.ndarray] = {}
        digests = list(by_digest)
        with self._connect() as con:
            for start in range(0, len(digests), _CHUNK):
                chunk = digests[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for digest, vector in con.execute(
                        f"SELECT text, vector FROM embeddings WHERE model = ? AND text IN "
                        f"({marks})", [model, *chunk]):
                    found[by_digest[digest]] = np.frombuffer(vector, dtype="<f4").astype(
                        np.float32)
        if found:
            now = time.time()
            with self._connect(write=True) as con:
                con.executemany("UPDATE embeddings SET used = ? WHERE model = ? AND text = ?",
                                [(now, model, text_digest(t)) for t in found])
        return found

    def put(self, model_key: str, rows: dict[str, np.ndarray]) -> None:
        """Store ``rows`` (text -> 1-d vector), then evict past the size limit."""
        if not rows:
            return
        model = _model_digest(model_key)
        now = time.time()
        values = [(model, text_digest(t), np.asarray(v, dtype="<f4").tobytes(), now)
                  for t, v in rows.items()]
        with self._connect(write=True) as con:
            limit = self._limit(con)
            if limit == 0:
                return
            added = 0
            for value in values:
                cursor = con.execute("INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?, ?)",
                                     value)
                added += cursor.rowcount * (len(value[2]) + _ROW_OVERHEAD)
            con.execute("UPDATE settings SET value = value + ? WHERE name = 'bytes'", (added,))
            self._evict(con, limit)

    # ------------------------------------------------------------------ size, limit, clear
    @staticmethod
    def _limit(con: sqlite3.Connection) -> int:
        row = con.execute("SELECT value FROM settings WHERE name = 'max_bytes'").fetchone()
        return DEFAULT_DISK_CACHE_MAX_BYTES if row is None else int(row[0])

    @staticmethod
    def _evict(con: sqlite3.Connection, limit: int) -> None:
        """Delete the least recently used rows until the size is within ``limit``."""
        size = con.execute("SELECT value FROM settings WHERE name = 'bytes'").fetchone()[0]
        while size > limit:
            oldest = con.execute("SELECT model, text, length(vector) FROM embeddings "
                                 "ORDER BY used LIMIT 256").fetchall()
            if not oldest:
                size = 0
                break
            victims = []
            for model, text, n in oldest:
                victims.append((model, text))
                size -= n + _ROW_OVERHEAD
                if size <= limit:
                    break
            con.executemany("DELETE FROM embeddings WHERE model = ? AND text = ?", victims)
        con.execute("UPDATE settings SET value = ? WHERE name = 'bytes'", (max(size, 0),))

    def max_bytes(self) -> int:
        if not self.path.exists():
            return DEFAULT_DISK_CACHE_MAX_BYTES
        with self._connect() as con:
            return self._limit(con)

    def set_max_bytes(self, max_bytes: int) -> int:
        """Set the limit shared by every user of this file; return the previous one."""
        with self._connect(write=True) as con:
            previous = self._limit(con)
            con.execute("INSERT OR REPLACE INTO settings VALUES ('max_bytes', ?)",
                        (int(max_bytes),))
            self._evict(con, int(max_bytes))
        return previous

    def stats(self) -> dict:
        if not self.path.exists():
            return {"disk_entries": 0, "disk_bytes": 0,
                    "disk_max_bytes": DEFAULT_DISK_CACHE_MAX_BYTES}
        with self._connect() as con:
            entries = con.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            size = con.execute("SELECT value FROM settings WHERE name = 'bytes'").fetchone()[0]
            return {"disk_entries": int(entries), "disk_bytes": int(size),
                    "disk_max_bytes": self._limit(con)}

    def clear(self) -> None:
        """Delete every row (of every model) and give the space back to the file system."""
        if not self.path.exists():
            return
        with self._connect(write=True) as con:
            con.execute("DELETE FROM embeddings")
            con.execute("UPDATE settings SET value = 0 WHERE name = 'bytes'")
        with self._connect() as con:
            con.execute("VACUUM")
