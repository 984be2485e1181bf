#!/usr/bin/env bash
# Create (or refresh) the project-local environment .venv/ with PyTorch, the
# pinned OpenMMLab stack and s2d_mm in editable mode.
#
# Idempotent: a stamp holding the hash of the requirement files and setup.py
# makes a second run return at once. Set S2D_PYTHON to choose the interpreter,
# S2D_VENV to place the environment elsewhere.
#
# Each step below works around something recorded in docs (environment.md):
#   * chumpy's setup.py imports pip -> build it without isolation, first;
#   * xtcocotools wheels are built against numpy 1.x -> rebuild against numpy 2;
#   * mmengine resolves `mmaction::` configs through pkg_resources -> setuptools<81;
#   * full mmcv does not build against current torch -> mmcv-lite 2.0.1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${S2D_VENV:-$ROOT/.venv}"
PY="${S2D_PYTHON:-python3}"
cd "$ROOT"

hash_inputs() {
  cat requirements/*.txt setup.py tools/install.sh | sha256sum | cut -d' ' -f1
}
STAMP="$VENV/.s2d_install_stamp"
WANT="$(hash_inputs)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  echo "[install] $VENV is up to date"
  exit 0
fi

echo "[install] creating/updating environment in $VENV"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

"${PIP[@]}" -q --upgrade pip
"${PIP[@]}" -q -r requirements/build.txt
# A CUDA torch already in the environment satisfies these pins and is kept.
"${PIP[@]}" -r requirements/torch.txt
"${PIP[@]}" -q --no-build-isolation chumpy
"${PIP[@]}" -r requirements/mminstall.txt -r requirements/runtime.txt -r requirements/tests.txt
# Rebuild xtcocotools against the numpy that is installed now (numpy 2 ABI).
XTC_VER="$("$VENV/bin/python" -m pip show xtcocotools 2>/dev/null | awk '/^Version:/{print $2}')"
if ! "$VENV/bin/python" -c "import xtcocotools.mask" >/dev/null 2>&1; then
  echo "[install] rebuilding xtcocotools ${XTC_VER} against numpy 2"
  "${PIP[@]}" -q --no-binary xtcocotools --no-build-isolation --no-deps \
    --force-reinstall "xtcocotools==${XTC_VER:-1.14.3}"
fi
"${PIP[@]}" -q --no-deps --no-build-isolation -e .

"$VENV/bin/python" - <<'PY'
import s2d_mm, mmaction.models, mmpretrain.models, mmpose.models  # noqa: F401
import torch
print(f"[install] ok: s2d_mm {s2d_mm.__version__}, torch {torch.__version__}")
PY
echo "$WANT" > "$STAMP"
