#!/usr/bin/env bash
# Create (or reuse) the largekernel Python environment with the verified OpenMMLab version set.
#
#   bash tools/setup_env.sh            # prints the environment's python at the end
#
# Environment variables:
#   LARGEKERNEL_VENV   where the virtual environment lives (default: ~/.venvs/largekernel). It lives outside
#                      the checkout so that fresh clones of the repository reuse it.
#   PYTHON             the interpreter that creates it (default: python3; 3.10-3.12 are supported)
#
# Each step is listed in requirements/*.txt. The script is idempotent: a step whose check passes is skipped, so a
# warm environment is verified in well under a minute. mmcv is rebuilt from source whenever `import mmcv.ops`
# fails (for example a wheel cached against another torch build). Any failure names the step that broke.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REQ=$ROOT/requirements
VENV=${LARGEKERNEL_VENV:-$HOME/.venvs/largekernel}
BASE_PYTHON=${PYTHON:-python3}
STEP="start"

log() { echo "[setup_env $(date +%H:%M:%S)] $*" >&2; }
trap 'echo "[setup_env] FAILED in step \"$STEP\" (exit code $?). Re-run after fixing; finished steps are skipped." >&2' ERR

if [ ! -x "$VENV/bin/python" ]; then
  STEP="create virtual environment at $VENV"; log "$STEP"
  "$BASE_PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
pip_() { "$PY" -m pip --disable-pip-version-check "$@"; }
check() { "$PY" - <<<"$1" >/dev/null 2>&1; }

# Step 1: torch. Some machines' pip configuration offers a "+cpu" torch wheel first (it also matches
# ==2.13.0); --isolated ignores that configuration so the standard PyPI build is resolved.
STEP="torch (requirements/torch.txt)"
TORCH_OK='import torch, torchvision
assert torch.__version__.split("+")[0] == "2.13.0" and not torch.__version__.endswith("+cpu"), torch.__version__
assert torchvision.__version__.split("+")[0] == "0.28.0", torchvision.__version__'
if ! check "$TORCH_OK"; then
  log "$STEP: installing the standard PyPI build (about 3 GB)"
  ISOLATED_OPTS=(--isolated)
  [ -n "${PIP_CERT:-}" ] && ISOLATED_OPTS+=(--cert "$PIP_CERT")
  [ -n "${PIP_INDEX_URL:-}" ] && ISOLATED_OPTS+=(--index-url "$PIP_INDEX_URL")
  if "$PY" -c 'import torch; assert torch.__version__.endswith("+cpu")' >/dev/null 2>&1; then
    pip_ uninstall -y torch torchvision
  fi
  pip_ install "${ISOLATED_OPTS[@]}" -r "$REQ/torch.txt"
  "$PY" - <<<"$TORCH_OK"
fi

STEP="build tools (requirements/build.txt)"; log "$STEP"
pip_ install -q -r "$REQ/build.txt"

# Step 3: mmcv from source with its ops. First allow pip's cached wheel (fast when it was built against this
# very torch); if mmcv.ops still fails to import, rebuild without the cache.
STEP="mmcv (requirements/mmcv.txt)"
MMCV_OK='import mmcv, mmcv.ops
assert mmcv.__version__ == "2.1.0", mmcv.__version__
from mmcv.ops import nms, RoIAlign, ModulatedDeformConv2d'
if ! check "$MMCV_OK"; then
  log "$STEP: building from source with ops (about 20-25 minutes on 2 cores)"
  pip_ uninstall -y mmcv mmcv-lite >/dev/null 2>&1 || true
  export MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2}
  pip_ install --no-build-isolation -r "$REQ/mmcv.txt" || true
  if ! check "$MMCV_OK"; then
    log "$STEP: the cached mmcv wheel does not match this torch; rebuilding without pip's cache"
    pip_ uninstall -y mmcv >/dev/null 2>&1 || true
    pip_ install --no-build-isolation --no-cache-dir -r "$REQ/mmcv.txt"
  fi
  "$PY" - <<<"$MMCV_OK"
fi

STEP="OpenMMLab toolboxes and timm (requirements/openmmlab.txt)"; log "$STEP"
pip_ install -q -r "$REQ/openmmlab.txt"

STEP="mmdet3d and what it imports (requirements/mmdet3d*.txt)"; log "$STEP"
pip_ install -q -r "$REQ/mmdet3d.txt"
pip_ install -q --no-deps -r "$REQ/mmdet3d_nodeps.txt"

STEP="UniRepLKNet's other modalities (requirements/modalities.txt)"; log "$STEP"
pip_ install -q --no-deps -r "$REQ/modalities.txt"

STEP="test tools (requirements/tests.txt)"; log "$STEP"
pip_ install -q -r "$REQ/tests.txt"

STEP="ONNX export and its check (requirements/deploy.txt)"; log "$STEP"
pip_ install -q -r "$REQ/deploy.txt"

STEP="largekernel itself (pip install -e .)"
if ! (cd / && check "import os, largekernel; assert os.path.dirname(largekernel.__file__) == '$ROOT/largekernel'"); then
  log "$STEP"
  pip_ install -q --no-deps --no-build-isolation -e "$ROOT"
fi

STEP="final import check"; log "$STEP"
"$PY" - <<'EOF'
import importlib
expected = {'torch': '2.13.0', 'torchvision': '0.28.0', 'mmengine': '0.10.7', 'mmcv': '2.1.0',
            'mmdet': '3.3.0', 'mmseg': '1.2.2', 'mmpretrain': '1.2.0', 'mmdet3d': '1.4.0', 'timm': '1.0.31',
            'onnx': '1.23.2', 'onnxruntime': '1.31.1', 'onnxscript': '0.7.2',
            'mmaction': '1.2.0', 'kaldi_native_fbank': '1.23.0', 'h5py': '3.15.1'}
for name, version in expected.items():
    mod = importlib.import_module(name)
    got = mod.__version__.split('+')[0]
    assert got == version, f'{name}: expected {version}, found {mod.__version__}'
import largekernel  # noqa: F401  (first: its runtime fixes make mmaction.models importable)
import mmcv.ops, mmdet.models, mmseg.models, mmpretrain.models, mmdet3d.models, mmaction.models  # noqa: F401
EOF
# The import check is cheap, so the version report goes last and stays visible.
log "environment ready: $PY"
echo "$PY"
