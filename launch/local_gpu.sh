#!/usr/bin/env bash
# Train on the GPUs of this machine, data-parallel over all of them, with the same command as
# on a laptop. The first run checks Python (>= 3.11) and installs jaxvision with a CUDA build of
# JAX into .venv of this checkout (JAXVISION_EXTRA changes it, JAXVISION_VENV=DIR uses an
# existing environment); TensorFlow stays CPU-only (it only feeds data).
# Example:  launch/local_gpu.sh configs/lenet5_fashion_mnist.py runs/fmnist --config.batch_size=256
# Resume:   run the same command again; it continues from the newest checkpoint in the workdir.
set -euo pipefail
config=${1:?usage: launch/local_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
workdir=${2:?usage: launch/local_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
shift 2
cd "$(dirname "$0")/.."
JAXVISION_EXTRA=${JAXVISION_EXTRA:-jax[cuda12]} bash launch/setup_worker.sh
export TF_CPP_MIN_LOG_LEVEL=1 TF_ENABLE_ONEDNN_OPTS=0
# Let XLA take the GPU memory it needs instead of 75% up front (tf.data shares the host).
export XLA_PYTHON_CLIENT_PREALLOCATE=${XLA_PYTHON_CLIENT_PREALLOCATE:-false}
exec .venv/bin/python -m jaxvision.cli train --config "$config" --workdir "$workdir" "$@"
