"""The cost of a no-op: `snakemake` on the whole, up-to-date pipeline against a one-rule Snakefile, interleaved.

What a user pays before any job starts: Snakemake's own start-up (the one-rule
Snakefile has only that), plus parsing our Snakefile (params validation, every rule's
code inputs) and checking the DAG's files. Runs alternate, so both see the same machine.

    make demo   # an up-to-date pipeline
    .venv/bin/python benchmarks/bench_noop.py --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ONE_RULE = 'rule a:\n    output:\n        "a.txt"\n    shell:\n        "touch {output}"\n'


def noop_seconds(project: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=project, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0 or "Nothing to be done" not in proc.stdout + proc.stderr:
        raise SystemExit(f"{project}: not an up-to-date no-op (build it first):\n{(proc.stdout + proc.stderr)[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    one = Path(tempfile.mkdtemp()) / "one_rule"
    one.mkdir()
    (one / "Snakefile").write_text(ONE_RULE)
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--quiet"], cwd=one, check=True, capture_output=True)
    noop_seconds(args.project), noop_seconds(one)  # warm the page cache for both
    ours, base = [], []
    for _ in range(args.runs):
        ours.append(noop_seconds(args.project))
        base.append(noop_seconds(one))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"whole pipeline no-op: median {m_ours:.2f} s (min {min(ours):.2f}, max {max(ours):.2f}) over {args.runs} runs")
    print(f"one-rule Snakefile:   median {m_base:.2f} s (min {min(base):.2f}, max {max(base):.2f})")
    print(f"ratio of medians: {m_ours / m_base:.2f}x")


if __name__ == "__main__":
    main()
