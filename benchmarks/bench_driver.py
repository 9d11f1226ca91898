"""What Snakemake's own driver process costs a long local build, at two `--max-jobs-per-timespan` settings.

Snakemake 9.27's scheduler starts a rate-limiter timer (`--max-jobs-per-timespan`, default `100/1s`) after every
scheduling round, and every finished job triggers a round of its own: so each job's end adds one more chain of
timers, and after k jobs the loop runs about k times per timespan, each round checking every waiting job's inputs
(snakemake/snakemake PR #3744 describes the loop running more often than the limiter asks). In our demo build that is
10-19 % of one of the two cores by the second hour, taken from stages that use both.

This builds a toy workflow shaped like ours: `--jobs` jobs that each ask for both cores (so they run one at a time
and the rest wait, ready, as in the demo), each reading the same `--files` source files (as every rule reads its
command's code), each sleeping `--seconds` so that the driver is the only process using CPU. Settings alternate, on
fresh copies, so both see the same machine. The driver's CPU is its own rusage (its jobs only sleep); the wall time
less the jobs' sleep is start-up, bookkeeping, and the wait for the last timer at exit (up to one timespan).

    .venv/bin/python benchmarks/bench_driver.py --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SNAKEFILE = """\
SOURCES = [f"src/m{{i}}.py" for i in range({files})]

rule all:
    input:
        expand("out/{{i}}.txt", i=range({jobs})),

rule job:
    input:
        SOURCES,
    output:
        "out/{{i}}.txt",
    threads: 2
    shell:
        "sleep {seconds} && touch {{output}}"
"""


def build(root: Path, jobs: int, files: int, seconds: float, timespan: str) -> dict[str, float]:
    """One build of the toy workflow in a fresh folder: wall time and the driver's CPU seconds."""
    (root / "src").mkdir(parents=True)
    for i in range(files):
        (root / "src" / f"m{i}.py").write_text(f"# source file {i}\n")
    (root / "Snakefile").write_text(SNAKEFILE.format(jobs=jobs, files=files, seconds=seconds))
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--workflow-profile", "none", "--quiet", "all"]
    start = time.perf_counter()
    with open(root / "snakemake.log", "w") as log:  # a file, not a pipe: nothing reads while it runs
        proc = subprocess.Popen([*cmd, "--max-jobs-per-timespan", timespan], cwd=root, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4, not wait: the rusage of the driver (its jobs only sleep)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or len(list((root / "out").glob("*.txt"))) != jobs:
        raise SystemExit(f"{root}: the toy build failed:\n{(root / 'snakemake.log').read_text()[-2000:]}")
    return {"wall_s": wall, "driver_cpu_s": usage.ru_utime + usage.ru_stime, "overhead_s": wall - jobs * seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timespans", nargs=2, default=["100/1s", "100/10s"], help="baseline, then candidate")
    parser.add_argument("--json", type=Path, help="raw results (benchmarks/results/)")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in args.timespans}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for i, timespan in enumerate(args.timespans):
                run = build(Path(tmp) / f"{r}_{i}", args.jobs, args.files, args.seconds, timespan)
                runs[timespan].append(run)
                print(f"round {r + 1} {timespan}: " + ", ".join(f"{k} {v:.1f}" for k, v in run.items()), flush=True)
    medians = {t: {k: statistics.median(run[k] for run in rs) for k in rs[0]} for t, rs in runs.items()}
    base, cand = (medians[t] for t in args.timespans)
    print(f"driver CPU, {args.timespans[1]} against {args.timespans[0]}: {cand['driver_cpu_s'] / base['driver_cpu_s']:.2f}x")
    print(f"overhead beyond the jobs' sleep: {base['overhead_s']:.1f} s against {cand['overhead_s']:.1f} s")
    if args.json:
        setup = {k: getattr(args, k) for k in ("jobs", "files", "seconds", "rounds")}
        args.json.write_text(json.dumps({"setup": setup, "runs": runs, "medians": medians}, indent=1) + "\n")


if __name__ == "__main__":
    main()
