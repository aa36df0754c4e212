#!/usr/bin/env bash
# Train on every worker of a Cloud TPU VM pod slice with the same command as on a laptop.
# Needs: gcloud with access to the TPU VM; the workdir on storage all workers share (a gs://
# bucket or a mounted filesystem), because every worker takes part in Orbax checkpoints.
# jax.distributed finds the other workers by itself on TPU VMs.
# Example:  launch/tpu_pod.sh my-tpu us-central2-b configs/lenet5_fashion_mnist.py gs://bucket/run1
# Resume:   run the same command again (after a preemption, recreate the TPU first); every
#           worker restores the newest checkpoint in the workdir.
set -euo pipefail
tpu=${1:?usage: launch/tpu_pod.sh TPU_NAME ZONE CONFIG WORKDIR [--config.KEY=VALUE ...]}
zone=${2:?zone}
config=${3:?config}
workdir=${4:?workdir}
shift 4
# Copy this checkout (run the script from the repository root) to every worker, install there.
gcloud compute tpus tpu-vm scp --recurse --zone "$zone" --worker=all \
  jaxvision configs pyproject.toml README.md "$tpu":~/jaxvision/
setup="cd jaxvision && pip install -q -e . 'jax[tpu]'"
run="cd jaxvision && TF_CPP_MIN_LOG_LEVEL=1 jaxvision train --config $config --workdir $workdir $*"
gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "$setup"
gcloud compute tpus tpu-vm ssh "$tpu" --zone "$zone" --worker=all --command "$run"
