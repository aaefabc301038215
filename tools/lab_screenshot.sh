#!/usr/bin/env bash
# A screenshot of a notebook as JupyterLab shows it, taken with headless Chromium (Debian's `chromium` package):
#   bash tools/lab_screenshot.sh [NOTEBOOK] [OUT.png] [HEIGHT]
# It starts JupyterLab on the repository (no token, loopback only), opens NOTEBOOK (default nbs/index.ipynb), waits for
# the page to render, saves the picture, and stops the server. Used to check that index.ipynb's figures resolve in the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
NB=${1:-nbs/index.ipynb}; OUT=${2:-lab_screenshot.png}; HEIGHT=${3:-2400}; PORT=${PORT:-8899}
BIN=${VENV:-.venv}/bin
command -v chromium >/dev/null || { echo "lab_screenshot: chromium is not installed (apt-get install chromium)" >&2; exit 2; }
"$BIN/jupyter-lab" --no-browser --allow-root --ip=127.0.0.1 --port="$PORT" --ServerApp.token='' --ServerApp.password='' \
    --ServerApp.root_dir="$PWD" >/tmp/lab_screenshot.log 2>&1 &
LAB=$!
trap 'kill $LAB 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/api" >/dev/null && break; sleep 1; done
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --hide-scrollbars \
    --window-size=1280,"$HEIGHT" --virtual-time-budget=45000 --screenshot="$(realpath -m "$OUT")" \
    "http://127.0.0.1:$PORT/lab/tree/$NB" 2>/dev/null
echo "lab_screenshot: $NB → $OUT"
