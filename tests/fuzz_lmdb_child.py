"""Fuzz the LMDB store reader in a process of its own (LMDB's C library reads the file's pages directly).

    python tests/fuzz_lmdb_child.py EXAMPLES

A small store is packed, then damaged: its data.mdb truncated (a partial copy), or its
records changed through LMDB itself (a value's bytes altered or shortened, a checksum or
the metadata deleted or replaced, a key removed). Opening it, listing its keys and reading
every key must give bytes identical to what was packed, or InputError. Prints
`lmdb: N inputs, 0 crashes`.

Not fuzzed: random bytes inside LMDB's own B-tree pages. LMDB keeps no page checksums and
its C library aborts the process on some such pages (seen here: SIGBUS, SIGABRT); the
defences are the file-size check (truncation), our per-value CRC-32 and DVC's file digest
(`dvc status` names a damaged store). README, Reliability, says so.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import lmdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handflow.errors import InputError
from handflow.storage.lmdb_store import MAX_DBS, PackedFiles, pack

WORK = Path(tempfile.mkdtemp())
ITEMS = {f"img/{i:03d}.bin": bytes([i % 251]) * (50 + 97 * i) for i in range(24)}
pack([(k, (lambda v=v: v)) for k, v in ITEMS.items()], WORK / "good", check=None)
RAW = (WORK / "good" / "data.mdb").read_bytes()
TRIED = [0]  # inputs tried, printed at the end


@st.composite
def damage(draw):
    """A function that damages a copy of the store in place."""
    how = draw(st.sampled_from(["truncate", "value", "crc", "meta", "key"]))
    key = draw(st.sampled_from(sorted(ITEMS))).encode()
    cut = draw(st.integers(0, len(RAW) - 1))
    junk = draw(st.binary(max_size=64))

    def apply(store: Path) -> None:
        if how == "truncate":
            (store / "data.mdb").write_bytes(RAW[:cut])
            return
        env = lmdb.open(str(store), max_dbs=MAX_DBS, lock=False)
        db = env.open_db({"value": b"files", "key": b"files", "crc": b"crc32", "meta": b"meta"}[how])
        with env.begin(write=True, db=db) as txn:
            if how == "value":
                txn.put(key, junk if junk != ITEMS[key.decode()] else junk + b"!")
            elif how == "key":
                txn.delete(key)
            elif how == "crc":
                txn.delete(key) if not junk else txn.put(key, junk)
            else:
                txn.put(b"__meta__", junk) if junk else txn.delete(b"__meta__")
        env.close()

    apply.label = how
    return apply


def main(examples: int) -> None:
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(damage())
    def reads_or_input_error(apply) -> None:
        TRIED[0] += 1
        store = WORK / f"store{TRIED[0]}"
        shutil.copytree(WORK / "good", store)
        apply(store)
        try:
            files = PackedFiles(store)
            assert len(files) == len(ITEMS) and sorted(files.keys()) == sorted(ITEMS)
            for key, value in ITEMS.items():
                assert files.get(key) == value
            # every damage but a cut through unused trailing pages must be noticed
            assert apply.label == "truncate", f"{apply.label}: damage not detected"
        except InputError as exc:
            assert "\n" not in str(exc) and str(store) in str(exc)
        finally:
            shutil.rmtree(store)

    reads_or_input_error()
    print(f"lmdb: {TRIED[0]} inputs, 0 crashes")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
