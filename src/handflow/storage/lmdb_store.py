"""Files packed into LMDB by their relative path: the original encoded bytes, verified, resumable.

The seed (DIGIT's `package_images_lmdb.py`) decodes every JPEG and re-encodes it
as PNG (about 5x the bytes and most of the time) and pickles its key list with an
API modern pyarrow removed. Here a value is the file's own bytes, so packing is
close to a sequential copy, and a reader decodes exactly what the dataset ships.

Layout: the main database maps key (path relative to the packed root, UTF-8) to
bytes; a `crc32` sub-database maps key to the CRC-32 of its bytes (integrity, not
security: it runs at memory speed, where SHA-256 doubled the packing time); `__meta__` in a `meta`
sub-database holds the count and the sorted key list's digest. Packing writes into
`<out>.partial/` in batched transactions, growing the map when full; a rerun after
an interruption resumes from the keys already there (their digests are checked in
the final pass). Only a pass that reads every key back and matches count and
digests renames `<out>.partial` to `<out>`: an incomplete store never looks complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import lmdb

from handflow.errors import InputError

MAX_DBS = 4
_JPEG_SOI, _JPEG_EOI = b"\xff\xd8", b"\xff\xd9"
_PNG_SIG, _PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def check_encoded_image(data: bytes, source: Path | str) -> None:
    """Refuse a truncated or foreign file: JPEG must end at its EOI marker, PNG at its IEND chunk."""
    if data.startswith(_JPEG_SOI):
        if not data[-64:].rstrip(b"\x00").endswith(_JPEG_EOI):  # some encoders pad after EOI
            raise InputError(source, None, "truncated JPEG (no end-of-image marker)")
    elif data.startswith(_PNG_SIG):
        if not data.endswith(_PNG_END):
            raise InputError(source, None, "truncated PNG (no IEND chunk)")
    else:
        raise InputError(source, None, "not a JPEG or PNG file")


@dataclass(frozen=True)
class PackStats:
    count: int
    bytes: int
    resumed: int


def _open_write(path: Path, map_size: int) -> lmdb.Environment:
    # lock=False: the stage is the only writer (one job per output), and a lock file would hold PIDs
    return lmdb.open(str(path), map_size=map_size, max_dbs=MAX_DBS, subdir=True, sync=True, writemap=False, lock=False)


def _crc(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _keys_digest(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def _read(source: Path | Callable[[], bytes]) -> bytes:
    if callable(source):
        return source()
    try:
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise InputError(source, None, "file not found") from None


def pack(
    items: list[tuple[str, Path | Callable[[], bytes]]],
    out: Path,
    batch_bytes: int = 64 << 20,
    map_size: int = 64 << 20,
    check: Callable[[bytes, Path], None] | None = check_encoded_image,
    on_put: Callable[[int], None] | None = None,
) -> PackStats:
    """Pack (key, source) pairs into the LMDB directory `out`, atomically; see the module docstring.

    A source is a file, or a callable that makes the bytes (rendered masks): it is only
    called for keys not already packed, so a resumed run renders only what is missing.
    """
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    env = _open_write(partial, max(map_size, 1 << 20))  # below ~1 MiB even opening the sub-databases fails
    try:
        main, sums = env.open_db(b"files"), env.open_db(b"crc32")
        with env.begin(db=sums) as txn:
            done = {bytes(k).decode() for k, _ in txn.cursor()}
        todo = [(k, p) for k, p in items if k not in done]
        total, batch, pending = 0, 0, []
        for n, (key, source) in enumerate(todo):
            data = _read(source)
            if check:
                check(data, source if isinstance(source, Path) else key)
            pending.append((key.encode(), data))
            batch += len(data)
            total += len(data)
            if batch >= batch_bytes or n == len(todo) - 1:
                env = _commit(env, partial, main, sums, pending)
                main, sums = env.open_db(b"files"), env.open_db(b"crc32")
                pending, batch = [], 0
            if on_put:
                on_put(n)
        _verify_and_seal(env, partial, [k for k, _ in items])
    finally:
        env.close()
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return PackStats(count=len(items), bytes=total, resumed=len(done))


def _commit(env: lmdb.Environment, path: Path, main, sums, pending: list[tuple[bytes, bytes]]) -> lmdb.Environment:
    """Write one batch in one transaction, doubling the map size until it fits."""
    while True:
        try:
            with env.begin(write=True) as txn:
                for key, data in pending:
                    txn.put(key, data, db=main)
                    txn.put(key, _crc(data), db=sums)
            return env
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


def _verify_and_seal(env: lmdb.Environment, path: Path, keys: list[str]) -> None:
    """Read every key back: count and digests must match; then record the metadata."""
    main, sums, meta = env.open_db(b"files"), env.open_db(b"crc32"), env.open_db(b"meta")
    with env.begin() as txn:
        stored = txn.stat(main)["entries"]
        if stored != len(set(keys)):
            raise InputError(path, "count", f"{stored} entries, expected {len(set(keys))}")
        for key in keys:
            data = txn.get(key.encode(), db=main)
            digest = txn.get(key.encode(), db=sums)
            if data is None or digest is None:
                raise InputError(path, key, "missing after packing")
            if _crc(data) != bytes(digest):
                raise InputError(path, key, "checksum mismatch")
    record = {"count": len(set(keys)), "keys_sha256": _keys_digest(set(keys)), "format": "original encoded bytes"}
    while True:
        try:
            with env.begin(write=True, db=meta) as txn:
                txn.put(b"__meta__", json.dumps(record).encode())
            return
        except lmdb.MapFullError:
            env.set_mapsize(env.info()["map_size"] * 2)


# LMDB forbids opening one environment twice in a process: readers share one handle per
# (file, process), reopened when the file changed underneath (a store rebuilt in place).
_READERS: dict[str, tuple[tuple, lmdb.Environment]] = {}
_READERS_LOCK = threading.Lock()


def _reader(path: Path) -> lmdb.Environment:
    """The process's environment for `path`, reopened when the file changed; threads share it (the lock guards the cache)."""
    with _READERS_LOCK:
        data = path / "data.mdb"
        st = data.stat()
        signature = (os.getpid(), st.st_ino, st.st_size, st.st_mtime_ns)
        key = str(path.resolve())
        cached = _READERS.get(key)
        if cached and cached[0] == signature:
            return cached[1]
        if cached:
            cached[1].close()
        try:
            env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_dbs=MAX_DBS)
        except lmdb.Error as exc:
            raise InputError(path, None, f"cannot open LMDB store: {exc}") from None
        # LMDB maps the file and trusts its meta page: pages past a truncated file's end are a
        # bus error (SIGBUS) on first touch, so the file must hold every page the meta names.
        needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
        if needed > st.st_size:
            env.close()
            raise InputError(path / "data.mdb", None, f"truncated: {st.st_size} bytes, its pages need {needed}")
        _READERS[key] = (signature, env)
        return env


class PackedFiles:
    """Read-only access to a packed store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not (self.path / "data.mdb").is_file():
            raise InputError(self.path, None, "not an LMDB store (no data.mdb)" + (" (unfinished: .partial)" if self._partial() else ""))
        env = _reader(self.path)
        try:
            with env.begin(db=env.open_db(b"meta", create=False)) as txn:
                raw = txn.get(b"__meta__")
            with env.begin() as txn:
                entries = txn.stat(env.open_db(b"files", txn=txn, create=False))["entries"]
            self.meta = json.loads(bytes(raw)) if raw else None
        except (lmdb.Error, ValueError, TypeError) as exc:  # ValueError: JSON and text decoding
            raise InputError(self.path, "__meta__", f"unreadable ({type(exc).__name__}); the store is corrupted or unfinished") from None
        if not self.meta:
            raise InputError(self.path, "__meta__", "missing; the store is unfinished")
        count = self.meta.get("count") if isinstance(self.meta, dict) else None
        if not isinstance(count, int) or count < 0 or not isinstance(self.meta.get("keys_sha256"), str):
            raise InputError(self.path, "__meta__", "not a store record (count, keys_sha256); the store is damaged")
        if entries != count:
            raise InputError(self.path, "count", f"{entries} entries, its record says {count}; the store is damaged")

    def _partial(self) -> bool:
        return self.path.with_name(self.path.name + ".partial").exists()

    def __len__(self) -> int:
        return int(self.meta["count"])

    def get(self, key: str) -> bytes:
        """The bytes packed under `key`, checked against their CRC-32 (a damaged page is an error, not wrong pixels)."""
        env = _reader(self.path)  # per process: forked data-loader workers open their own
        try:
            with env.begin() as txn:
                data = txn.get(key.encode(), db=env.open_db(b"files", txn=txn, create=False))
                digest = txn.get(key.encode(), db=env.open_db(b"crc32", txn=txn, create=False))
                data, digest = (None if v is None else bytes(v) for v in (data, digest))
        except lmdb.Error as exc:
            raise InputError(self.path, key, f"read failed: {exc}") from None
        if data is None:
            raise InputError(self.path, key, "no such key")
        if digest is None or _crc(data) != digest:
            raise InputError(self.path, key, "checksum mismatch: the store is damaged")
        return data

    def keys(self) -> list[str]:
        env = _reader(self.path)
        try:
            with env.begin(db=env.open_db(b"files", create=False)) as txn:
                return [bytes(k).decode() for k, _ in txn.cursor()]
        except (lmdb.Error, UnicodeDecodeError) as exc:
            raise InputError(self.path, None, f"key list unreadable ({type(exc).__name__}); the store is damaged") from None
