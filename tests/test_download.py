"""The download stage against a local HTTP server on 127.0.0.1: good, corrupted, truncated, resumed."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from handflow.datasets.interhand.download import download_all
from handflow.errors import InputError


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.files`, honours `Range`, and cuts the paths in `server.truncate` short."""

    def do_GET(self):
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.split("=")[1].split("-")[0])
            self.server.ranges.append(start)
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.path in self.server.truncate:
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.truncate, srv.ranges = {}, set(), []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


ANNOT = {"annotations/train/InterHand2.6M_train_data.json": b'{"images": [], "annotations": []}', "annotations/skeleton.txt": b"# x\n"}


def _cfg(srv, path: str, data: bytes, algo: str = "md5", **extra) -> dict:
    entry = {"url": _url(srv, path), algo: hashlib.new(algo, data).hexdigest(), **extra}
    return {"archives": [entry], "images": False}


def test_good_archive_is_verified_and_extracted(server, tmp_path):
    archive = _tar(ANNOT)
    server.files["/InterHand2.6M.annotations.5.fps.tar.gz"] = archive
    out = tmp_path / "raw" / "interhand26m"
    download_all(_cfg(server, "/InterHand2.6M.annotations.5.fps.tar.gz", archive, "sha256"), out)
    assert (out / "annotations/skeleton.txt").read_bytes() == b"# x\n"
    assert (out / "annotations/train/InterHand2.6M_train_data.json").is_file()


def test_corrupted_archive_is_refused_and_deleted(server, tmp_path):
    archive = _tar(ANNOT)
    server.files["/a.tar.gz"] = archive[:-5] + b"XXXXX"
    out = tmp_path / "interhand26m"
    with pytest.raises(InputError, match="md5: checksum mismatch") as err:
        download_all(_cfg(server, "/a.tar.gz", archive), out)
    assert _url(server, "/a.tar.gz") in str(err.value)
    assert not out.exists()
    assert not any((tmp_path / "interhand26m.downloads").iterdir()), "the corrupt file does not survive"


def test_truncated_download_fails_then_resumes(server, tmp_path):
    archive = _tar({**ANNOT, "annotations/pad.bin": bytes(range(256)) * 400})
    server.files["/a.tar.gz"] = archive
    server.truncate.add("/a.tar.gz")
    out = tmp_path / "interhand26m"
    cfg = _cfg(server, "/a.tar.gz", archive)
    with pytest.raises(InputError, match="rerun to resume"):
        download_all(cfg, out)
    assert not out.exists()
    part = tmp_path / "interhand26m.downloads" / "a.tar.gz.part"
    have = part.stat().st_size
    assert 0 < have < len(archive)
    server.truncate.clear()
    download_all(cfg, out)
    assert server.ranges == [have], "the second run asked only for the missing bytes"
    assert (out / "annotations/pad.bin").read_bytes() == bytes(range(256)) * 400
    assert not part.exists()


def test_missing_file_and_empty_list(server, tmp_path):
    with pytest.raises(InputError, match="HTTP 404"):
        download_all(_cfg(server, "/nothing.tar.gz", b""), tmp_path / "out")
    with pytest.raises(InputError, match=r"params/data\.yaml: download\.archives: empty"):
        download_all({"archives": [], "images": False}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_archive_escaping_the_folder_is_refused(server, tmp_path):
    archive = _tar({"../evil.txt": b"x"})
    server.files["/evil.tar.gz"] = archive
    with pytest.raises(InputError, match="archive refused"):
        download_all(_cfg(server, "/evil.tar.gz", archive), tmp_path / "sub" / "out")
    assert not (tmp_path / "sub" / "evil.txt").exists() and not (tmp_path / "sub" / "out").exists()


def test_images_only_when_asked(server, tmp_path):
    archive = _tar(ANNOT)
    server.files["/a.tar.gz"] = archive
    cfg = _cfg(server, "/a.tar.gz", archive)
    cfg["archives"].append({"url": _url(server, "/images.tar"), "md5": "0" * 32, "kind": "images"})
    download_all(cfg, tmp_path / "out")  # the images entry is skipped: images is false
    assert (tmp_path / "out/annotations/skeleton.txt").is_file()
