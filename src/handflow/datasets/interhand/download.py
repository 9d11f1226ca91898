"""The download stage for users with access to InterHand2.6M.

Archives listed in params/data.yaml (`download.archives`: url + md5 or sha256) are
fetched into `<out>.downloads/` with HTTP Range resumption: an interrupted
transfer keeps its `.part` file and continues from there on the next run. An
archive is used only once its size matches what the server announced and its
checksum matches the published one; a corrupt archive is deleted and reported.
Extraction goes into a temporary folder that becomes `<out>` only when every
archive has been verified and extracted, so a failed or partial download never
passes for a complete one.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

from handflow.errors import InputError
from handflow.storage.atomic import atomic_path

log = logging.getLogger(__name__)
CHUNK = 1 << 20
PARAMS_FILE = "params/data.yaml"


def _digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _checksum(entry: dict) -> tuple[str, str]:
    return ("sha256", entry["sha256"]) if "sha256" in entry else ("md5", entry["md5"])


def fetch(url: str, dest: Path, algo: str, expected: str, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` (resuming `dest.part`), verify it, return `dest`."""
    if dest.exists() and _digest(dest, algo) == expected:
        return dest
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            if offset and resp.status != 206:  # server ignored the range: start over
                offset = 0
            length = resp.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
            with open(part, "ab" if offset else "wb") as fh:
                shutil.copyfileobj(resp, fh, CHUNK)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # range past the end: the part file is already complete
            total = offset
        else:
            raise InputError(url, None, f"download failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        have = part.stat().st_size if part.exists() else 0
        raise InputError(url, None, f"download interrupted ({exc}); rerun to resume from {have} bytes") from None
    size = part.stat().st_size
    if total is not None and size < total:
        raise InputError(url, None, f"truncated: {size} of {total} bytes; rerun to resume")
    got = _digest(part, algo)
    if got != expected:
        part.unlink()
        raise InputError(url, algo, f"checksum mismatch: expected {expected}, got {got} (corrupt download deleted)")
    part.replace(dest)
    return dest


def _extract(archive: Path, into: Path, url: str) -> None:
    if tarfile.is_tarfile(archive):
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(into, filter="data")  # refuses absolute paths, '..' and links out
        except tarfile.TarError as exc:
            raise InputError(url, None, f"archive refused: {exc}") from None
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                target = (into / name).resolve()
                if not target.is_relative_to(into.resolve()):
                    raise InputError(url, name, "archive member escapes the extraction folder")
            zf.extractall(into)
    else:
        raise InputError(url, None, "not a tar or zip archive")


def download_all(cfg: dict, out: Path) -> list[Path]:
    wanted = [a for a in cfg["archives"] if a.get("kind", "annotations") != "images" or cfg["images"]]
    if not wanted:
        raise InputError(PARAMS_FILE, "download.archives", "empty: list the InterHand2.6M archives (url + md5/sha256) you have access to")
    cache = out.with_name(out.name + ".downloads")
    archives = []
    for entry in wanted:
        algo, expected = _checksum(entry)
        name = Path(urlparse(entry["url"]).path).name or "archive"
        log.info("fetching %s", entry["url"])
        archives.append((entry, fetch(entry["url"], cache / name, algo, expected)))
    with atomic_path(out, is_dir=True) as tmp:
        for entry, path in archives:
            if entry.get("extract", True):
                _extract(path, tmp, entry["url"])
            else:
                shutil.copy2(path, tmp / path.name)
    return [p for _, p in archives]
