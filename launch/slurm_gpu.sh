#!/usr/bin/env bash
# Train on a SLURM GPU cluster: one process per GPU over all nodes of the allocation.
# Needs: jaxvision installed on every node with a CUDA build of JAX; a workdir on a shared
# filesystem. jax.distributed reads the SLURM environment (SLURM_NTASKS > 1) by itself.
# Example:  sbatch --nodes=2 --gpus-per-node=8 --ntasks-per-node=8 \
#             launch/slurm_gpu.sh configs/lenet5_fashion_mnist.py /shared/runs/fmnist
# Resume:   submit the same job again; it restores the newest checkpoint in the workdir.
#SBATCH --job-name=jaxvision
#SBATCH --output=jaxvision-%j.log
set -euo pipefail
config=${1:?usage: sbatch launch/slurm_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
workdir=${2:?usage: sbatch launch/slurm_gpu.sh CONFIG WORKDIR [--config.KEY=VALUE ...]}
shift 2
export TF_CPP_MIN_LOG_LEVEL=1 TF_ENABLE_ONEDNN_OPTS=0 XLA_PYTHON_CLIENT_PREALLOCATE=false
srun --kill-on-bad-exit=1 jaxvision train --config "$config" --workdir "$workdir" "$@"
