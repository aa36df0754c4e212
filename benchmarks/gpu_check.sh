#!/usr/bin/env bash
# jaxvision vs torchvision train-step speed on one GPU, in under 8 minutes, table last.
#
#   bash benchmarks/gpu_check.sh
#
# Needs jax (tested to run with 0.11.2), flax, optax, torch, torchvision; NOT TensorFlow or
# ml_collections (jaxvision.commands.bench imports neither). For each model in $MODELS that
# jaxvision registers: `python -m jaxvision.commands.bench` (jaxvision's own train step, all local
# devices) and benchmarks/torch_reference.py (torchvision, bf16 autocast, channels_last,
# torch.compile; eager if compile fails), each in its own process so the two never share
# GPU memory. A missing model (a name jaxvision does not register) is skipped with a
# message. Every run gets min(RUN_TIMEOUT, what is left of BUDGET) seconds, so the script
# ends within BUDGET plus a few seconds whatever hangs.
#
# Environment overrides (e.g. a CPU smoke test):
#   MODELS="resnet18 vit_b16" BATCH=8 IMAGE_SIZE=32 DTYPE=float32 STEPS=2 NUM_CLASSES=10 \
#     bash benchmarks/gpu_check.sh
# Raw JSON and logs go to $OUT (or a temporary folder).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
MODELS=${MODELS:-"resnet50 vit_base"}
BUDGET=${BUDGET:-440}
RUN_TIMEOUT=${RUN_TIMEOUT:-200}
. benchmarks/budgeted_runs.sh

echo "== gpu_check: $(date -u +%FT%TZ) models=[$MODELS] batch=$BATCH size=$IMAGE_SIZE" \
     "dtype=$DTYPE steps=$STEPS budget=${BUDGET}s results=$RESULTS"
command -v nvidia-smi > /dev/null && nvidia-smi -L
"$PYTHON" - <<'EOF'
import importlib
for name in ("jax", "jaxlib", "flax", "optax", "torch", "torchvision", "tensorflow",
             "ml_collections"):
  try:
    print(f"  {name} {importlib.import_module(name).__version__}")
  except ImportError:
    print(f"  {name}: not installed")
EOF

COMMON=(--batch-size "$BATCH" --image-size "$IMAGE_SIZE" --dtype "$DTYPE" --steps "$STEPS"
        --num-classes "$NUM_CLASSES" --json)
for model in $MODELS; do
  if ! "$PYTHON" -c "import sys; from jaxvision import models; sys.exit('$model' not in models.MODELS)"; then
    echo "[$model] skipped: jaxvision.models has no '$model' yet" | tee "$RESULTS/skip_$model.log"
    continue
  fi
  run "jaxvision_$model" "$RUN_TIMEOUT" 30 - "$PYTHON" -m jaxvision.commands.bench --model "$model" \
      "${COMMON[@]}"
  if ! run "torch_$model" "$RUN_TIMEOUT" 30 - "$PYTHON" benchmarks/torch_reference.py \
      --model "$model" "${COMMON[@]}"; then
    run "torch_eager_$model" "$RUN_TIMEOUT" 30 - "$PYTHON" benchmarks/torch_reference.py \
        --model "$model" "${COMMON[@]}" --no-compile
  fi
done

echo
echo "== results ($(( $(date +%s) - START ))s)"
"$PYTHON" - "$RESULTS" $MODELS <<'EOF'
import json, os, sys
results, models = sys.argv[1], sys.argv[2:]

def load(name):
  path = os.path.join(results, name + ".json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)

head = (f"{'model':<10}{'framework':<34}{'device':<24}{'batch':>6}{'compile s':>10}"
        f"{'step ms':>9}{'images/s':>10}{'TFLOP/s':>9}{'MFU':>7}{'jax/torch':>10}")
print(head)
print("-" * len(head))
for model in models:
  jv = load(f"jaxvision_{model}")
  th = load(f"torch_{model}") or load(f"torch_eager_{model}")
  if jv is None and th is None:
    skipped = os.path.exists(os.path.join(results, f"skip_{model}.log"))
    print(f"{model:<10}" + ("skipped: not in jaxvision.models" if skipped
                            else f"no result (see the logs in {results})"))
    continue
  for r in (jv, th):
    if r is None:
      continue
    ratio = (f"{jv['images_per_s'] / th['images_per_s']:.3f}"
             if r is jv and jv and th else "")
    mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "n/a"
    device = f"{r['num_devices']}x {r['device']}"[:23]
    print(f"{model:<10}{r['framework'][:33]:<34}{device:<24}{r['batch_size']:>6}"
          f"{r['compile_s']:>10.1f}{r['step_ms']:>9.2f}{r['images_per_s']:>10.1f}"
          f"{r['tflops_per_s']:>9.2f}{mfu:>7}{ratio:>10}")
print(f"dtype {os.environ.get('DTYPE', 'bfloat16')}; MFU against the dense peak per chip in "
      "jaxvision/commands/bench.py; FLOPs: XLA cost analysis (jaxvision), torch flop_counter (torch)")
EOF
