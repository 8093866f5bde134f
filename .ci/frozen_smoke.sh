#!/usr/bin/env bash
# Frozen smoke test: build the PyInstaller folder on Linux, move it under a path with a space and
# non-ASCII letters, run `sorter --version`, `sorter self-test` (which also starts the windowed
# `Sorter --self-test`) and `Sorter --self-test` from there with the system CUDA libraries out of
# the way, train a tiny model in full mode and sort with it, train one in quick mode as a stored
# (compact) version and sort with that, and fail if any library was loaded from the build
# environment or /usr/local/cuda.
#
# Usage: .ci/frozen_smoke.sh            (from anywhere; about 10 minutes on 2 cores)
# Environment:
#   PYTHON                 interpreter with the project and pyinstaller (default: .venv/bin/python)
#   SORTER_BUILD_VARIANT   passed to build.spec (default here: cpu, the lean folder)
#   SORTER_SKIP_FROZEN=1   skip this test (prints why and exits 0)
#   SORTER_SMOKE_DIR       work folder (default: a new temporary folder, deleted afterwards)
#   SORTER_KEEP_BUILD=1    keep the work folder for inspection
set -euo pipefail

if [[ "${SORTER_SKIP_FROZEN:-0}" == "1" ]]; then
    echo "frozen-smoke: skipped (SORTER_SKIP_FROZEN=1)"
    exit 0
fi

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export SORTER_BUILD_VARIANT=${SORTER_BUILD_VARIANT:-cpu}
WORK=${SORTER_SMOKE_DIR:-$(mktemp -d -t sorter-frozen-XXXXXX)}
mkdir -p "$WORK"
cleanup() {
    if [[ "${SORTER_KEEP_BUILD:-0}" != "1" && -z "${SORTER_SMOKE_DIR:-}" ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "frozen-smoke: installing the build extra (pyinstaller) into $PYTHON's environment"
    "$PYTHON" -m pip install --quiet "pyinstaller>=6.10"  # the `build` extra of pyproject.toml
fi

free_gb=$(df -Pk "$WORK" | awk 'NR==2 {print int($4 / 1048576)}')
if (( free_gb < 10 )); then
    echo "frozen-smoke: FAILED: only ${free_gb} GB free under $WORK, the build needs about 10 GB"
    exit 1
fi

echo "frozen-smoke: building (variant $SORTER_BUILD_VARIANT) in $WORK"
build_start=$(date +%s)
if ! "$PYTHON" -m PyInstaller build.spec --noconfirm --distpath "$WORK/dist" \
        --workpath "$WORK/build" >"$WORK/pyinstaller.log" 2>&1; then
    tail -n 60 "$WORK/pyinstaller.log"
    echo "frozen-smoke: FAILED: pyinstaller build.spec (log above)"
    exit 1
fi
build_s=$(( $(date +%s) - build_start ))

# Spaces and non-ASCII letters in the path must not matter (users install anywhere).
APP="$WORK/Sörter test ü/Sorter"
mkdir -p "$(dirname "$APP")"
mv "$WORK/dist/Sorter" "$APP"
size=$(du -sh "$APP" | cut -f1)
echo "frozen-smoke: built in ${build_s} s, folder $size at $APP"

# A clean environment: own user folders, no display, no Python or library paths from outside.
export XDG_CONFIG_HOME="$WORK/user/config" XDG_DATA_HOME="$WORK/user/data"
export XDG_CACHE_HOME="$WORK/user/cache" XDG_STATE_HOME="$WORK/user/state"
LDLOG="$WORK/ld"
mkdir -p "$LDLOG"

frozen() {  # frozen NAME COMMAND...: run with the loader logging where each library came from
    local name=$1
    shift
    env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u PYTHONHOME -u DISPLAY -u WAYLAND_DISPLAY \
        QT_QPA_PLATFORM=offscreen LD_DEBUG=libs LD_DEBUG_OUTPUT="$LDLOG/$name" "$@"
}

fail() {  # fail MESSAGE: show the app's own log (tracebacks live there), then stop
    find "$WORK/user" -name 'sorter.log' -exec tail -n 80 {} \; 2>/dev/null || true
    echo "frozen-smoke: FAILED: $1"
    exit 1
}

seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t=$(date +%s%N)
frozen version "$APP/sorter" --version || fail "sorter --version"
version_s=$(seconds_since "$t")

set +e
"$APP/sorter" >"$WORK/noargs.txt" 2>&1
noargs=$?
set -e
if (( noargs != 2 )) || ! grep -q "usage: sorter" "$WORK/noargs.txt"; then
    cat "$WORK/noargs.txt"
    echo "frozen-smoke: FAILED: the console executable without arguments must print help (exit 2)"
    exit 1
fi

t=$(date +%s%N)
frozen cli "$APP/sorter" self-test || fail "sorter self-test (output above)"
cli_s=$(seconds_since "$t")

t=$(date +%s%N)
frozen gui "$APP/Sorter" --self-test || fail "Sorter --self-test (output above)"
gui_s=$(seconds_since "$t")

# Full-mode training (fastai) and a sort with its model: the bundle leaves out pandas, scipy and
# scikit-learn, which fastai imports, so this proves no training path needs them.
TINY="$WORK/tiny"
samples=$(find "$APP" -path '*assets/samples/*.jpg' | sort)
[[ -n "$samples" ]] || fail "no sample photos in the bundle"
i=0
while IFS= read -r photo; do
    mkdir -p "$TINY/group$(( i % 3 ))"
    cp "$photo" "$TINY/group$(( i % 3 ))/"
    i=$(( i + 1 ))
done <<<"$samples"
t=$(date +%s%N)
frozen train "$APP/sorter" train "$TINY" --mode full --epochs 1 --input-size 64 \
    --out "$WORK/tiny-full.pth" || fail "sorter train --mode full (output above)"
# The report's chart is drawn with matplotlib, which sits beside pandas's and scipy's stand-ins.
[[ -s "$WORK/tiny-full.report.png" ]] || fail "the training report's chart was not drawn"
frozen sort "$APP/sorter" sort "$TINY" --model "$WORK/tiny-full.pth" --out "$WORK/tiny-sorted" \
    || fail "sorter sort with the full-mode model (output above)"
[[ -f "$WORK/tiny-sorted/sorter-report.csv" ]] || fail "the sort wrote no sorter-report.csv"
# Quick mode stored as a version: compact (its networks named, not stored), so sorting with it
# rebuilds them from the weights inside the bundle.
frozen quick "$APP/sorter" train "$TINY" --as-version --input-size 64 \
    || fail "sorter train --as-version (output above)"
stored=$(find "$XDG_DATA_HOME" -path '*models/v1/model.pth' -size -1000k)
[[ -n "$stored" ]] || fail "the quick-mode version was not stored compact (under 1 MB)"
frozen use "$APP/sorter" models use v1 || fail "sorter models use v1 (output above)"
frozen sortv "$APP/sorter" sort "$TINY" --out "$WORK/tiny-sorted-v1" \
    || fail "sorter sort with the compact version (output above)"
[[ -f "$WORK/tiny-sorted-v1/sorter-report.csv" ]] || fail "the sort with v1 wrote no report"
train_s=$(seconds_since "$t")

# The self-tests passed; now prove they did so with the folder's own libraries only.
outside=$(grep -h "calling init: /" "$LDLOG"/* | sed 's/.*calling init: //' | sort -u \
    | grep -v -F "$APP/" || true)
bad=$(echo "$outside" | grep -E "/usr/local/cuda|/\.venv/|site-packages|/nvidia/" || true)
if [[ -n "$bad" ]]; then
    echo "$bad"
    echo "frozen-smoke: FAILED: libraries above came from outside the folder (missing from the bundle)"
    exit 1
fi
n_outside=$(echo "$outside" | grep -c . || true)
echo "frozen-smoke: libraries from the system (allowed: libc and friends): $n_outside"
echo "$outside" | sed 's/^/    /'

echo "frozen-smoke: passed: build ${build_s} s, folder $size, 'sorter --version' ${version_s} s," \
    "'sorter self-test' ${cli_s} s, 'Sorter --self-test' ${gui_s} s," \
    "full-mode training and a sort, quick training and a sort ${train_s} s"
