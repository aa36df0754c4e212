#!/usr/bin/env bash
# Prepares one machine to train: checks Python, makes the virtual environment, installs.
# Run from the copied checkout on each worker (the launch scripts do). Idempotent: a second
# run (a resume) finds the environment and installs nothing.
#   PYTHON=python3.11     the interpreter to use (default python3)
#   JAXVISION_EXTRA=...   extra pip requirement, e.g. 'jax[tpu]' or 'jax[cuda12]'
#   JAXVISION_VENV=DIR    use this existing environment instead of making one (no install)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${JAXVISION_VENV:-}" ]; then
  [ -x "$JAXVISION_VENV/bin/python" ] || { echo "JAXVISION_VENV=$JAXVISION_VENV has no bin/python" >&2; exit 1; }
  if [ "$(realpath .venv 2>/dev/null)" != "$(realpath "$JAXVISION_VENV")" ]; then
    if [ -e .venv ] && [ ! -L .venv ]; then
      echo "$PWD/.venv is an environment already; unset JAXVISION_VENV to use it" >&2; exit 1
    fi
    ln -sfn "$JAXVISION_VENV" .venv
  fi
  exit 0
fi
py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  found=$("$py" -V 2>&1 || echo "no $py")
  echo "jaxvision needs Python >= 3.11, this machine has: $found. Install Python 3.11 or newer" \
       "(e.g. sudo apt-get install -y python3.11 python3.11-venv) and run again with" \
       "PYTHON=python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
if ! .venv/bin/python -c 'import jaxvision' 2>/dev/null; then
  .venv/bin/pip install -q -e . ${JAXVISION_EXTRA:+"$JAXVISION_EXTRA"}
fi
