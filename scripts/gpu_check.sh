#!/usr/bin/env bash
# The prepared GPU check (issue "paper profile ... ready for a GPU"): on a machine with a GPU,
#   1. the smoke run of the paper profile (`make smoke`), timed;
#   2. a timed slice of the paper run: unsupervised SimCSE at bert-base size (a randomly
#      initialised bert-base config with the stand-in's tokenizer: the hub is unreachable there),
#      500 steps of batch 64, reporting steps/s, peak GPU memory and STS-B dev at the end.
# Every number goes to one file, $OUT/gpu_check.json (OUT defaults to _build/gpu_check).
# Without a GPU it says so clearly and exits 0 after the smoke part. Budget: under 10 minutes.
#   bash scripts/gpu_check.sh [--skip-smoke] [--steps N]
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-_build/gpu_check}"
mkdir -p "$OUT"
SKIP_SMOKE=0
STEPS=500
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-smoke) SKIP_SMOKE=1 ;;
    --steps) STEPS="$2"; shift ;;
    *) echo "gpu_check: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
PY=.venv/bin/python
[ -x "$PY" ] || { python3 scripts/book.py setup || exit 1; }
export ANISO_DATA_DIR="${ANISO_DATA_DIR:-$(cd .. && pwd)/shared/data}"

smoke_rc=skipped
smoke_s=0
if [ "$SKIP_SMOKE" = 0 ]; then
  start=$(date +%s)
  make smoke > "$OUT/smoke.log" 2>&1
  smoke_rc=$?
  smoke_s=$(( $(date +%s) - start ))
  echo "gpu_check: smoke run exit code $smoke_rc in ${smoke_s} s (log: $OUT/smoke.log)"
fi
"$PY" scripts/gpu_slice.py --steps "$STEPS" --out "$OUT/gpu_check.json" \
  --smoke-rc "$smoke_rc" --smoke-seconds "$smoke_s"
slice_rc=$?
if [ "$smoke_rc" != skipped ] && [ "$smoke_rc" != 0 ]; then
  exit "$smoke_rc"
fi
exit "$slice_rc"
