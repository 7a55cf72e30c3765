#!/usr/bin/env bash
# The Python environment of the transformers oracle (test/transformers.test.ts): CPU torch,
# transformers and safetensors in .venv-oracle/ (git-ignored), from the machine's local package
# mirror (docs: ../shared/docs/ENVIRONMENT.md, "Python, for independent checks"). Idempotent: when the
# venv already imports the pinned versions it returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv-oracle
TORCH=2.13.0+cpu
TRANSFORMERS=5.18.0
CHECK="import torch, transformers, safetensors, tokenizers; assert torch.__version__ == '$TORCH', torch.__version__; assert transformers.__version__ == '$TRANSFORMERS', transformers.__version__"

if [[ -x $VENV/bin/python ]] && $VENV/bin/python -c "$CHECK" >/dev/null 2>&1; then
  exit 0
fi

# The mirror's CPU torch wheel is built for CPython 3.11 (cp311).
PYTHON=${PYTHON:-}
if [[ -z $PYTHON ]]; then
  for candidate in python3 /usr/bin/python3 python3.11; do
    if "$candidate" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
[[ -n $PYTHON ]] || { echo "setup-venv: no Python 3.11 with venv found (the mirror's torch wheel is cp311); set PYTHON=" >&2; exit 1; }
# The mirror named by `pip config list`; given as --index-url so pip never waits on the unreachable PyPI.
INDEX=(--index-url file:///opt/pypi/simple)
[[ -d /opt/pypi-more/simple ]] && INDEX+=(--extra-index-url file:///opt/pypi-more/simple)
[[ -d /opt/wheels ]] && INDEX+=(--find-links /opt/wheels)
[[ -d /opt/pypi/simple ]] || {
  echo "setup-venv: no local package mirror at /opt/pypi/simple; see ../shared/docs/ENVIRONMENT.md" >&2
  exit 1
}

echo "Creating $VENV (torch $TORCH, transformers $TRANSFORMERS) from the local mirror"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
$VENV/bin/pip install -q --disable-pip-version-check "${INDEX[@]}" "torch==$TORCH" "transformers==$TRANSFORMERS" safetensors 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
$VENV/bin/python -c "$CHECK"
