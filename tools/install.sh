#!/usr/bin/env bash
# Create (or refresh) the project-local environment .venv/: PyTorch, the
# OpenMMLab stack and s2d_mm (editable), at the exact versions of the lock
# file of the interpreter's Python version, requirements/lock/py3.X.txt.
#
#   S2D_PYTHON=python3.12   interpreter to build the environment with
#   S2D_VENV=DIR            environment folder (default .venv)
#   S2D_UNLOCKED=1          resolve the version ranges of requirements/*.txt
#                           instead of the lock: newer packages, untested set
#
# Idempotent: a stamp holding the hash of the requirement files, the lock,
# setup.py and this script makes a second run return at once.
#
# Why the steps look as they do (docs/installation.md has the details):
#   * every package comes from the lock and is installed with --no-deps, so
#     nothing outside the tested set is resolved; `pip check` then confirms
#     that the set is complete;
#   * chumpy's setup.py imports pip, and xtcocotools is compiled from source
#     against the installed numpy 2 (its wheels were built for numpy 1 and
#     there are none for Python >= 3.12): both build without isolation, after
#     numpy, cython and setuptools are in place; on Python >= 3.13 the
#     setup.py of xtcocotools cannot read its own version (PEP 667), so
#     tools/build_xtcocotools.py builds it from its sdist with that fixed;
#   * exactly one OpenCV distribution provides `cv2`: opencv-python-headless
#     4.x (no GUI libraries, fits a server; mmengine, mmcv-lite, mmpose and
#     mmaction2 import only `cv2`; OpenCV 5 lacks the Haar face detector). The metadata of mmengine/mmpose asks for
#     opencv-python and mmaction2's for opencv-contrib-python; the three
#     provide the same module and installing two of them leaves `cv2` a mix
#     of both, so those requirements are accepted as met by the headless one;
#   * facenet-pytorch is installed for the MTCNN weight files it ships (the
#     default face detector, requirements/face_detector.txt), never
#     imported; its metadata pins torch < 2.3 and numpy < 2 for its own
#     code, so those pip-check lines are accepted;
#   * setuptools stays < 81: mmengine resolves `mmaction::` configs through
#     pkg_resources.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${S2D_VENV:-$ROOT/.venv}"
PY="${S2D_PYTHON:-python3}"
UNLOCKED="${S2D_UNLOCKED:-0}"
SUPPORTED="3.11 3.12 3.13"
cd "$ROOT"

die() { echo "[install] error: $*" >&2; exit 1; }

command -v "$PY" >/dev/null 2>&1 || die "interpreter '$PY' not found (S2D_PYTHON)"
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
[[ " $SUPPORTED " == *" $PYVER "* ]] || die "Python $PYVER is not supported \
(supported: $SUPPORTED). torch 2.14.1, the OpenMMLab pins and the locks exist \
for these only; choose one with S2D_PYTHON=python3.12 (for example)."
if [[ -x "$VENV/bin/python" ]]; then
  VENV_VER="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [[ "$VENV_VER" == "$PYVER" ]] || die "$VENV holds Python $VENV_VER, not \
$PYVER ($PY); remove it or choose another folder with S2D_VENV"
fi

LOCK="requirements/lock/py$PYVER.txt"
if [[ "$UNLOCKED" != 1 && ! -f "$LOCK" ]]; then
  die "no lock for Python $PYVER ($LOCK). Create it with \
'S2D_PYTHON=$PY bash tools/update_lock.sh', or install the untested newest \
set with S2D_UNLOCKED=1."
fi

hash_inputs() {
  { cat requirements/*.txt setup.py tools/install.sh
    [[ "$UNLOCKED" == 1 ]] && echo unlocked || cat "$LOCK"; } | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.s2d_install_stamp"
WANT="$(hash_inputs)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  echo "[install] $VENV is up to date"
  exit 0
fi

# The OpenCV distributions that all install the module `cv2`; the project
# keeps the headless one (tools/check_environment.py).
CV2_DISTS=(opencv-python opencv-contrib-python opencv-python-headless opencv-contrib-python-headless)

echo "[install] Python $PYVER, environment $VENV, $([[ "$UNLOCKED" == 1 ]] && echo 'UNLOCKED (version ranges, untested set)' || echo "lock $LOCK")"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
export PIP_DISABLE_PIP_VERSION_CHECK=1

build_xtcocotools_if_needed() {
  if [[ "$PYVER" != 3.11 && "$PYVER" != 3.12 ]] && \
     ! "$VENV/bin/python" -c "import xtcocotools.mask" >/dev/null 2>&1; then
    "$VENV/bin/python" tools/build_xtcocotools.py "$1"
  fi
}

if [[ "$UNLOCKED" != 1 ]]; then
  # A cv2 provider other than the locked one (left by an earlier install or
  # by hand) would be mixed with it: refuse rather than guess.
  "$VENV/bin/python" tools/check_environment.py --cv2-only

  pin() { grep -iE "^$1==" "$LOCK" || die "$LOCK does not pin $1"; }
  # Build tools first, at their locked versions: the sdists below build
  # without isolation against them.
  "${PIP[@]}" -q --no-deps "$(pin pip)"
  "${PIP[@]}" -q --no-deps "$(pin setuptools)" "$(pin wheel)" "$(pin cython)" "$(pin numpy)"
  build_xtcocotools_if_needed "$(pin xtcocotools | cut -d= -f3)"
  "${PIP[@]}" --no-deps --no-build-isolation --no-binary xtcocotools -r "$LOCK"
else
  "${PIP[@]}" -q --upgrade pip
  "${PIP[@]}" -q -r requirements/build.txt
  build_xtcocotools_if_needed 1.14.3
  # A CUDA torch already in the environment satisfies these pins and is kept.
  "${PIP[@]}" -r requirements/torch.txt
  "${PIP[@]}" -q --no-build-isolation chumpy
  "${PIP[@]}" --no-build-isolation --no-binary xtcocotools \
    -r requirements/mminstall.txt -r requirements/runtime.txt \
    -r requirements/optional.txt -r requirements/tests.txt
  # mmengine/mmpose pull opencv-python and mmaction2 opencv-contrib-python:
  # keep only the headless build of requirements/opencv.txt.
  "$VENV/bin/python" -m pip uninstall -y -q "${CV2_DISTS[@]}"
  "${PIP[@]}" -q --no-deps -r requirements/opencv.txt
  # only the MTCNN weight files of this wheel are used; its metadata pins
  # an old torch/numpy for code the project does not run
  "${PIP[@]}" -q --no-deps -r requirements/face_detector.txt
fi
"${PIP[@]}" -q --no-deps --no-build-isolation -e .

# The installed set is complete (pip check) except for the OpenCV names that
# the headless build stands in for, and exactly one distribution provides cv2.
"$VENV/bin/python" tools/check_environment.py

"$VENV/bin/python" - <<'PY'
import s2d_mm, mmaction.models, mmpretrain.models, mmpose.models  # noqa: F401
import torch, xtcocotools.mask  # noqa: F401
print(f"[install] ok: s2d_mm {s2d_mm.__version__}, torch {torch.__version__}")
PY
echo "$WANT" > "$STAMP"
