#!/usr/bin/env bash
# Train on every worker of a Cloud TPU VM pod slice with the same command as on a laptop.
# Needs: gcloud with access to the TPU VM; the workdir on storage all workers share (a gs://
# bucket or a mounted filesystem), because every worker takes part in Orbax checkpoints.
# jax.distributed finds the other workers by itself (JAX reads the TPU metadata service).
# Example:  launch/tpu_pod.sh my-tpu us-central2-b configs/lenet5_fashion_mnist.py gs://bucket/run1
# Resume:   run the same command again (after a preemption, recreate the TPU first); every
#           worker restores the newest checkpoint in the workdir; the install is kept.
# A fresh VM needs nothing: the script makes ~/jaxvision, checks Python (>= 3.11; it says what
# to install otherwise), makes ~/jaxvision/.venv and installs jaxvision with jax[tpu] there.
set -euo pipefail
tpu=${1:?usage: launch/tpu_pod.sh TPU_NAME ZONE CONFIG WORKDIR [--config.KEY=VALUE ...]}
zone=${2:?zone}
config=${3:?config}
workdir=${4:?workdir}
shift 4
cd "$(dirname "$0")/.."  # the checkout this script belongs to is what gets copied
ssh_all() { gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "$1"; }
ssh_all "mkdir -p ~/jaxvision"
gcloud compute tpus tpu-vm scp --recurse --zone "$zone" --worker=all \
  jaxvision configs launch pyproject.toml README.md "$tpu":~/jaxvision/
env_for_setup="PYTHON=${PYTHON:-python3} JAXVISION_EXTRA='jax[tpu]'"
[ -n "${JAXVISION_VENV:-}" ] && env_for_setup="$env_for_setup JAXVISION_VENV=$JAXVISION_VENV"
ssh_all "$env_for_setup bash ~/jaxvision/launch/setup_worker.sh"
# python -m from the copied checkout: the code that was just copied is the code that runs.
ssh_all "cd ~/jaxvision && TF_CPP_MIN_LOG_LEVEL=1 .venv/bin/python -m jaxvision.cli train \
--config $config --workdir $workdir $*"
