#!/usr/bin/env bash
# Install the browser UI (demo/gradio_dehaze.py) beside the main environment, never changing it.
#
#   bash tools/install_ui.sh [--browser] [BASE_VENV] [UI_VENV]    (defaults: .venv .venv-ui)
#
# UI_VENV is a virtual environment layered on BASE_VENV (made by `make test` / `make demo`): its
# own site-packages hold requirements/ui.txt and the few packages gradio needs at other versions
# than BASE_VENV has (see requirements/ui.txt); a .pth file then appends BASE_VENV's
# site-packages, so torch, mmagic and mmbilalora come from there. pip never sees BASE_VENV while
# installing (every other package is pinned to BASE_VENV's version by a constraints file), so
# BASE_VENV is left exactly as it was.
#
# --browser also installs Debian's chromium and chromium-driver (apt-get, as root) for the
# browser test tests/test_ui_browser.py, which is skipped when they are absent.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BROWSER=0
if [ "${1:-}" = "--browser" ]; then BROWSER=1; shift; fi
BASE=$(cd "${1:-$ROOT/.venv}" && pwd)
UI=${2:-$ROOT/.venv-ui}
PY=${PYTHON:-python3.11}
# Packages that may differ from BASE_VENV's versions inside UI_VENV (gradio's upper bounds).
OWN_VERSIONS='pillow|markupsafe|pandas|pydantic|pydantic[-_]core'

log() { echo "[install_ui $(date +%T)] $*"; }
if [ "$BROWSER" = 1 ]; then
  log "chromium, chromium-driver (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver > /dev/null
fi
[ -x "$BASE/bin/python" ] || { echo "No environment at $BASE: run 'make test' first." >&2; exit 1; }
if [ ! -x "$UI/bin/python" ]; then
  log "creating $UI"
  "$PY" -m venv "$UI"
fi
UI=$(cd "$UI" && pwd)
SITE=$("$UI/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
BASE_SITE=$("$BASE/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -f "$SITE/_mmbilalora_base_venv.pth"
CONSTRAINTS=$(mktemp)
"$BASE/bin/python" -m pip freeze --exclude-editable | grep -v " @ " \
  | grep -viE "^($OWN_VERSIONS)==" > "$CONSTRAINTS"
log "gradio (requirements/ui.txt)"
"$UI/bin/python" -m pip install --quiet --no-input -c "$CONSTRAINTS" -r "$ROOT/requirements/ui.txt"
rm -f "$CONSTRAINTS"
echo "import site; site.addsitedir('$BASE_SITE')" > "$SITE/_mmbilalora_base_venv.pth"
"$UI/bin/python" -c "import gradio, torch, mmagic, mmbilalora; print('gradio', gradio.__version__)"
log "done: $UI/bin/python demo/gradio_dehaze.py"
