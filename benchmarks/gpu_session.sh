#!/usr/bin/env bash
# The one script a session lent a GPU runs (issue 28). Such a session has 15 minutes of device time in all and one
# command may run 10 of them, so everything the device needs is made here first and the device runs one command:
#
#   bash benchmarks/gpu_session.sh prepare
#       here, before asking for the device: wheels (Python 3.12, the device image's) of what that image lacks into
#       .whl/ (git-ignored), and the prepared open hand model (APG's rows) into .gpu/ (excluded in .git/info/exclude)
#   bash benchmarks/gpu_session.sh run
#       there: device `run` with carry [".whl", ".gpu"] and timeout_s 600. Installs the wheels if the image lacks
#       them, then benchmarks/bench_gpu.py at the paper's sizes (fp32, bf16, then compiled bf16); every row is written
#       to $OUT/bench_gpu.json as it is measured, so a run stopped by BUDGET (seconds, default 540) keeps what it got.
#
# Checked here with `PYTHON=.venv/bin/python SCALE=smoke OUT=$(mktemp -d) bash benchmarks/gpu_session.sh run`
# (the CPU, smoke sizes; the wheel install is the device's half only). The device image's packages are listed in the
# device tool's KINDS.md: it has torch, h5py, yaml, opencv and transformers, not the ones below.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(diffusers==0.42.1 importlib-metadata==8.7.0 jsonschema==4.26.0 jsonschema-specifications==2025.9.1
  referencing==0.37.0 rpds-py==2026.9.1 smplx==0.1.28)

case "${1:-}" in
prepare)
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl "${WHEELS[@]}"
  rm -rf .gpu/hand_model && mkdir -p .gpu
  .venv/bin/python -m handflow hand prepare --out .gpu/hand_model --log .gpu/hand_model.log
  du -sh .whl .gpu
  ;;
run)
  py=${PYTHON:-python3}
  if ! "$py" -c "import diffusers, jsonschema, smplx" 2>/dev/null; then
    site=$(mktemp -d)
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl
    export PYTHONPATH=$site
  fi
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  out=${OUT:-$(mktemp -d)}
  mkdir -p "$out"
  (nvidia-smi -L || echo "no nvidia-smi") >"$out/gpu.txt" 2>&1
  timeout "${BUDGET:-540}" "$py" benchmarks/bench_gpu.py --scale "${SCALE:-paper}" --hand-model .gpu/hand_model \
    --out "$out/bench_gpu.json" 2>&1 | tee "$out/log" || echo "bench_gpu stopped (exit ${PIPESTATUS[0]}): the rows measured are in $out/bench_gpu.json"
  ;;
*)
  echo "usage: bash benchmarks/gpu_session.sh prepare|run" >&2
  exit 2
  ;;
esac
