#!/usr/bin/env bash
# The GPU check, one prepared script (about 8 minutes on one GPU; installs nothing): the CUDA runs
# of the device-parametrised tests, then benchmarks/bilevel_step.py and
# benchmarks/adaptation_time.py on the GPU, printing their tables and ratios. Needs the project's
# environment (.venv from `make test`, or PYTHON=...) with a CUDA build of torch.
#
#   bash benchmarks/gpu_check.sh                    # on a machine with a GPU
#   bash benchmarks/gpu_check.sh --device cpu --quick   # try the script itself without a GPU
#
# --quick shrinks every benchmark to a few iterations and only collects the tests (a dry run of the
# commands, not numbers to report; the tests themselves run in the suite). Logs and the
# adaptation_time JSON go to $GPU_CHECK_OUT (default work_dirs/gpu_check).
# Each step has its own time limit (sized for one GPU, 480 s in all; times $CPU_SLOWDOWN, default
# 8, with --device cpu); a step that fails or runs out of time is reported and the script goes
# on, exiting non-zero at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=cuda
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "unknown argument: $1 (use --device cpu|cuda, --quick)" >&2; exit 2 ;;
  esac
done

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT="${GPU_CHECK_OUT:-work_dirs/gpu_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
FAILED=()

if [ "$DEVICE" = cuda ]; then
  "$PY" - <<'EOF' || { echo "gpu_check: no usable CUDA device (try --device cpu --quick)" >&2; exit 1; }
import torch
assert torch.cuda.is_available()
print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}')
EOF
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
else
  "$PY" -c "import torch; print('torch', torch.__version__, '(CPU try-out)')"
fi

SLOWDOWN=1
[ "$DEVICE" = cuda ] || SLOWDOWN="${CPU_SLOWDOWN:-8}"

step() {  # step NAME LIMIT_SECONDS COMMAND...: run with a time limit, log to $OUT/NAME.log
  local name="$1" limit=$(($2 * SLOWDOWN)); shift 2
  echo; echo "=== $name (limit ${limit} s): $*"
  local start=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || FAILED+=("$name (exit $rc)")
}

if [ "$QUICK" = 1 ]; then
  PYTEST_MODE=(--collect-only)
  BILEVEL=(--batch 1 --size 32 --repeats 5 --no-memory)
  ADAPT=(--images 6 --batch 2 --crop 64 --search-epochs 1 --finetune-epochs 1 --repeats 1
         --workers 0)
  SPEED=(--sizes 0.3 --paths fast dcp)
else
  PYTEST_MODE=()
  BILEVEL=(--batch 24 --size 224 --repeats 5)
  ADAPT=(--images 96 --batch 24 --crop 224 --search-epochs 2 --finetune-epochs 10 --repeats 1
         --workers 8 --cudnn-benchmark)
  SPEED=(--sizes 1 3 12)
fi

# 1. The device-parametrised tests on this device (forward/backward, LoRA merge, the bilevel
#    step, AMP with GradScaler, the H2C loss, the NCCL launcher, the training modes, the
#    whole-run benchmark).
step tests 120 "$PY" -m pytest -q -p no:cacheprovider "${PYTEST_MODE[@]}" -k "$DEVICE" \
  tests/test_lora_layers.py tests/test_lora_inject.py tests/test_dea_net.py \
  tests/test_clip_haze_clear_loss.py tests/test_bilevel.py tests/test_dehazer_training_modes.py \
  tests/test_adaptation_time.py

# 2. Per-iteration cost of the search step vs its baselines (the paper's batch and crop).
step bilevel_step_dea-net 90 "$PY" benchmarks/bilevel_step.py --network dea-net \
  --device "$DEVICE" "${BILEVEL[@]}"

# 3. Whole runs: BiLaLoRA vs full fine-tuning vs LoRA on the whole search space.
step adaptation_time 180 "$PY" benchmarks/adaptation_time.py --network dea-net dehazeformer-t \
  --device "$DEVICE" "${ADAPT[@]}" --json "$OUT/adaptation_time.json"

# 4. The same for DEA-Net with mixed precision (float16 + GradScaler on CUDA). On CPU, bfloat16
#    and BiLaLoRA only: the baselines' AMP is mmengine's AmpOptimWrapper, which needs CUDA.
AMP=(--amp float16)
[ "$DEVICE" = cuda ] || AMP=(--amp bfloat16 --variants i)
step adaptation_time_amp 90 "$PY" benchmarks/adaptation_time.py --network dea-net \
  --device "$DEVICE" "${AMP[@]}" "${ADAPT[@]}" --json "$OUT/adaptation_time_amp.json"

# 5. Dehazing 1, 3 and 12 megapixel photos with the shipped base: fast and exact paths, the dark
#    channel prior alone.
step dehaze_speed 90 "$PY" benchmarks/dehaze_speed.py --device "$DEVICE" "${SPEED[@]}" \
  --json "$OUT/dehaze_speed.json"

echo
echo "=== ratios"
grep -h -E "^[|] [(].[)]/[(].[)] |^[(]i+[)]/[(]ii[)] =|^Bounds|^  search free|^[0-9.]+ MP: " "$OUT"/*.log
echo "gpu_check: ${SECONDS} s in all; logs in $OUT"
if [ ${#FAILED[@]} -gt 0 ]; then
  printf 'gpu_check: FAILED: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
