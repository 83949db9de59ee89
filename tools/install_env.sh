#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install the pinned stack into it.
#
#   bash tools/install_env.sh [VENV_DIR]      (default: .venv inside the repository)
#
# The environment is reused when its stamp matches the hash of the requirement files and of this
# script; otherwise it is brought up to date. mmcv 2.1.0 has no wheel for today's torch, so it is
# built from the sdist with full ops (MMCV_WITH_OPS=1); its setup.py hard-codes -std=c++14/17,
# which torch 2.14 headers reject, so the flag is raised to -std=c++20 in a scratch copy. The built
# wheel is kept in $MMBILALORA_WHEEL_CACHE (default ~/.cache/mmbilalora/wheels), so later installs
# on the same machine (other clones too) skip the ~14 minute build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-$ROOT/.venv}
mkdir -p "$(dirname "$VENV")"
VENV=$(cd "$(dirname "$VENV")" && pwd)/$(basename "$VENV")  # absolute: the mmcv build runs elsewhere
PY=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0
WHEELS=${MMBILALORA_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmbilalora/wheels}

stamp_of() {
  cat "$ROOT"/requirements/*.txt "$ROOT/tools/install_env.sh" "$ROOT/setup.cfg" | sha256sum | cut -c1-16
}
STAMP=$(stamp_of)
if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$STAMP" ]; then
  exit 0
fi

log() { echo "[install_env $(date +%T)] $*"; }
T0=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --no-input)

log "torch"
"${PIP[@]}" -r "$ROOT/requirements/torch.txt"
log "stack"
"${PIP[@]}" -r "$ROOT/requirements/stack.txt"

if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops" 2>/dev/null; then
  mkdir -p "$WHEELS"
  WHEEL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$WHEEL" ]; then
    log "building mmcv $MMCV_VERSION with ops (about 14 minutes on 2 cores)"
    BUILD=$(mktemp -d)
    "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary mmcv -d "$BUILD" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
    sed -i 's/-std=c++14/-std=c++20/g; s/-std=c++17/-std=c++20/g' "$BUILD/mmcv-$MMCV_VERSION/setup.py"
    (cd "$BUILD/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      "$VENV/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$WHEELS" . \
      > "$BUILD/build.log" 2>&1) || { tail -n 50 "$BUILD/build.log"; exit 1; }
    rm -rf "$BUILD"
    WHEEL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl | head -n 1)
  fi
  "${PIP[@]}" --no-deps "$WHEEL"
fi

log "mmagic, pyiqa (--no-deps)"
"${PIP[@]}" --no-deps -r "$ROOT/requirements/nodeps.txt"
log "mmbilalora (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" -c "import torch, mmengine, mmcv.ops, mmagic, open_clip, pyiqa, mmbilalora"
echo "$STAMP" > "$VENV/.stamp"
log "done in $(( $(date +%s) - T0 )) s; venv $(du -sh "$VENV" | cut -f1)"
