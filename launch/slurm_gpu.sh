#!/usr/bin/env bash
# Train on a SLURM GPU cluster: one process per GPU over all nodes of the allocation.
# Needs: this checkout on a filesystem every node shares (the workdir too, or a gs:// bucket).
# jax.distributed reads the SLURM environment of the job step by itself (JAX's SlurmCluster).
# Example (from the repository root):
#   sbatch --nodes=2 --gpus-per-node=8 --ntasks-per-node=8 \
#     launch/slurm_gpu.sh configs/lenet5_fashion_mnist.py /shared/runs/fmnist
# Resume:   submit the same job again; it restores the newest checkpoint in the workdir.
# The first job checks Python (>= 3.11) and installs jaxvision with jax[cuda12] into .venv of
# the checkout; later jobs reuse it (JAXVISION_VENV=DIR uses an existing environment).
#SBATCH --job-name=jaxvision
#SBATCH --output=jaxvision-%j.log
set -euo pipefail
config=${1:?usage: sbatch launch/slurm_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
workdir=${2:?usage: sbatch launch/slurm_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
shift 2
# sbatch runs a copy of this script from its spool folder: the checkout is where it was submitted.
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
JAXVISION_EXTRA=${JAXVISION_EXTRA:-jax[cuda12]} bash launch/setup_worker.sh
export TF_CPP_MIN_LOG_LEVEL=1 TF_ENABLE_ONEDNN_OPTS=0 XLA_PYTHON_CLIENT_PREALLOCATE=false
srun --kill-on-bad-exit=1 .venv/bin/python -m jaxvision.cli train --config "$config" \
  --workdir "$workdir" "$@"
