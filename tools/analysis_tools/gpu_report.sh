#!/usr/bin/env bash
# The Triton depthwise conv and the papers' speed protocols on one GPU, in under 8 minutes: the kernel's correctness
# checks (compiled kernels, not the interpreter), its benchmarks (RepLKNet Table 1 protocol and realistic widths,
# fp32 and fp16/bf16 autocast), whole-model training and inference throughput against timm's ConvNeXt-T (RepLKNet
# Table 5, ShiftwiseConv Table 7) and the DRB memory comparison (UniRepLKNet Table 18), all in one markdown report.
#
#   bash tools/analysis_tools/gpu_report.sh [REPORT.md]      (default work_dirs/gpu_report.md; PYTHON=... to pick one)
#
# Every step has a time limit; a failed or timed-out step is written into the report and makes the exit status 1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
PYTHON=${PYTHON:-python}
REPORT=${1:-work_dirs/gpu_report.md}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

die() { echo "gpu_report.sh: $*" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH; set PYTHON=/path/to/python"
"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    die "needs a CUDA GPU: torch.cuda.is_available() is False here (no GPU, no driver or a CPU-only torch)"
"$PYTHON" -c 'import triton' || die "needs the 'triton' package (pip install triton, matching your torch)"
mkdir -p "$(dirname "$REPORT")" || die "cannot create the folder of $REPORT"

STATUS=0
STEP_OUT=$(mktemp)
trap 'rm -f "$STEP_OUT"' EXIT
step() {  # step TITLE SECONDS COMMAND...: run with a time limit, append its output (a markdown table) to the report
    local title=$1 limit=$2 begin rc
    shift 2
    begin=$(date +%s)
    echo "[$(date +%T)] $title (limit ${limit}s)" >&2
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$STEP_OUT" 2>>"$REPORT.log"
    rc=$?
    { echo; echo "## $title"; echo; cat "$STEP_OUT"; echo
      if [ $rc -ne 0 ]; then
          echo "**FAILED** (exit status $rc$([ $rc -eq 124 ] && echo ', time limit'); see $REPORT.log)"; STATUS=1
      fi
      echo "_$(($(date +%s) - begin)) s_"; } >>"$REPORT"
}

: >"$REPORT.log"
{
    echo "# Triton depthwise conv: GPU report"
    echo
    "$PYTHON" -c 'import torch, triton; p = torch.cuda.get_device_properties(0)
print(f"{p.name}, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"triton {triton.__version__}")'
    echo "$(date -u '+%F %T UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$REPORT"

BENCH="$PYTHON tools/analysis_tools/benchmark_dwconv.py --iters 5 --warmup 2 --max-seconds 3"
MODELS="configs/unireplknet/unireplknet-t_8xb128-accum4_in1k.py configs/shiftwise/shiftwise-tiny_8xb64-accum8_in1k.py
configs/slak/slak-t_8xb128-accum4_in1k.py configs/replknet/replknet-31B_8xb64-accum4_in1k.py
configs/convnest/convnest-t_8xb128-accum4_in1k.py configs/uniconvnet/uniconvnet-t_8xb128-accum4_in1k.py"
MODEL_BENCH="$PYTHON tools/analysis_tools/benchmark.py $MODELS --baseline configs/_base_/models/timm-convnext-t.py
--device cuda --batch-size 128 --iters 5 --warmup 2"
step "Correctness vs float64 F.conv2d (compiled kernels)" 90 \
    "$PYTHON" tests/triton_dwconv_cases.py --device cuda --large
step "RepLKNet Table 1 protocol: 24 layers, (64, 384, R, R), fp32" 100 \
    $BENCH --preset table1 --mode forward train --time-limit 75
step "Realistic widths (RepLKNet-31B stages, SLaK-T strips), batch 64, fp32" 60 \
    $BENCH --preset widths --mode forward train --time-limit 40
step "Realistic widths, autocast fp16" 40 \
    $BENCH --preset widths --mode train --amp fp16 --time-limit 25
step "Table 1 at R = 32, autocast bf16" 30 \
    $BENCH --preset table1 --resolutions 32 --mode train --amp bf16 --time-limit 20
step "RepLKNet Table 5 / ShiftwiseConv Table 7: training throughput, batch 128, fp32, vs timm ConvNeXt-T" 70 \
    $MODEL_BENCH --mode train
step "Inference throughput (deploy forms), batch 128, fp32, vs timm ConvNeXt-T" 40 \
    $MODEL_BENCH --mode deploy
step "UniRepLKNet Table 18: Dilated Reparam Block vs one large-kernel conv + BN, UniRepLKNet-S training" 35 \
    "$PYTHON" tools/analysis_tools/benchmark_drb.py --arch S --batch-size 64 --iters 5 --warmup 2 --device cuda

echo "report: $REPORT (stderr of the steps: $REPORT.log)" >&2
exit $STATUS
