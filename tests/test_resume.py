"""Kill -9 during a training stage of the real pipeline, rerun, and get what an uninterrupted run gets.

Two copies of the local smoke build with longer training (1000 steps, a checkpoint every
125) and the model deleted, as in a first build: one runs straight through; the other is
killed twice, first only the training job (Snakemake sees it fail and cleans up), then
Snakemake itself with its job (a lost node or session: the lock and the incomplete marker
stay). After each kill no output of the stage may exist; the rerun must resume at the last
checkpoint, and the final model and loss curve must equal the uninterrupted run's byte for
byte. The target is the model itself: what is computed from it is a function of its bytes
(the SLURM and `dvc repro` tests compare sampling and evaluation across drivers).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
import yaml

from conftest import PIPELINE_ENV, SNAKEMAKE, digests, run_ok

pytestmark = pytest.mark.slow

MODEL, CURVE = "models/interhandgen/cascade.pt", "models/interhandgen/cascade_loss.tsv"
CHECKPOINT = "checkpoints/interhandgen/cascade/last.pt"
LOG = "logs/interhandgen/train_cascade.log"
TRAIN = {"steps": 1000, "checkpoint_every": 125, "lr_decay_every": 500, "log_every": 10}


def _long_training_copy(built: Path, dest: Path) -> Path:
    shutil.copytree(built, dest, symlinks=True)
    for path in (MODEL, CURVE):  # requested by name, so Snakemake builds them although what follows them exists
        (dest / path).unlink()
    scale = dest / "params/scales/smoke.yaml"
    data = yaml.safe_load(scale.read_text())
    data["interhandgen"]["train"].update(TRAIN)
    scale.write_text(yaml.safe_dump(data))
    return dest


def _checkpoint_step(project: Path) -> int:
    path = project / CHECKPOINT
    if not path.exists():
        return 0
    return int(torch.load(path, map_location="cpu", weights_only=True)["step"])  # written atomically: never half a file


def _training_pids(project: Path) -> list[int]:
    """PIDs of the cascade training process started in `project` (from /proc: no psutil needed)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"train" in cmd and b"cascade" in cmd and os.readlink(proc / "cwd") == str(project):
                pids.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return pids


def _kill_at(project: Path, min_step: int, whole_run: bool) -> tuple[int, str]:
    """Start the target, SIGKILL once a checkpoint at >= `min_step` exists; the last checkpoint's step and the run's output."""
    out = open(project / f"run_killed_at_{min_step}.txt", "w")  # closed below
    proc = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "1", MODEL], cwd=project, env=PIPELINE_ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        # only a bound on a hang (a run that ends is caught above): a loaded 2-core machine took over 300 s to the checkpoint
        deadline = time.monotonic() + 1200
        while _checkpoint_step(project) < min_step:
            assert proc.poll() is None, f"the run ended before step {min_step}: {(project / out.name).read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.02)
        if whole_run:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            for pid in _training_pids(project):
                os.kill(pid, signal.SIGKILL)
        rc = proc.wait(timeout=60)
    finally:
        out.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert rc != 0
    step = _checkpoint_step(project)
    assert min_step <= step < TRAIN["steps"]
    return step, (project / out.name).read_text()


@pytest.fixture(scope="module")
def runs(smoke_build, tmp_path_factory) -> tuple[Path, Path, list[int], list[str]]:
    built, _ = smoke_build
    base = tmp_path_factory.mktemp("resume")
    straight, killed = _long_training_copy(built, base / "straight"), _long_training_copy(built, base / "killed")
    # The uninterrupted run goes side by side with the killed one (one torch thread each, conftest.copy_project).
    with open(base / "straight.txt", "w") as log:
        uninterrupted = subprocess.Popen(
            [*SNAKEMAKE, "--cores", "1", MODEL], cwd=straight, env=PIPELINE_ENV, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            first, _ = _kill_at(killed, 250, whole_run=False)
            assert not (killed / MODEL).exists() and not (killed / CURVE).exists()
            second, resumed_first = _kill_at(killed, first + 375, whole_run=True)
            assert not (killed / MODEL).exists() and not (killed / CURVE).exists()
            assert any((killed / ".snakemake/incomplete").iterdir()), "Snakemake's incomplete marker names the killed job's outputs"
            run_ok([*SNAKEMAKE, "--unlock"], killed)  # what a user does after a lost session
            resumed_second = run_ok([*SNAKEMAKE, "--cores", "1", MODEL], killed)
        finally:
            rc = uninterrupted.wait()
    assert rc == 0, (base / "straight.txt").read_text()[-3000:]
    return straight, killed, [first, second], [resumed_first, resumed_second]


def test_each_rerun_resumes_at_the_last_checkpoint(runs):
    _, killed, steps, outputs = runs
    resumed = [re.findall(r"resumed from \S+ at step (\d+)", text) for text in outputs]
    assert resumed == [[str(steps[0])], [str(steps[1])]]
    assert f"at step {steps[1]}" in (killed / LOG).read_text()  # the job's own log, rewritten by each attempt


def test_resumed_run_equals_uninterrupted(runs):
    straight, killed, _, _ = runs
    for path in (MODEL, CURVE):
        assert (killed / path).read_bytes() == (straight / path).read_bytes(), path
    ours, theirs = digests(killed), digests(straight)
    assert ours == theirs
