#!/usr/bin/env bash
# Which jaxvision settings close the train-step gap to torch on one GPU: variants in priority
# order within a hard budget, table last.
#
#   bash benchmarks/gpu_variants.sh
#
# The baseline (jaxvision defaults vs torchvision + torch.compile) is benchmarks/gpu_check.sh;
# this runs only what differs from it, most informative first, each in its own process:
#   1 vit_cudnn          vit_base, attention through jax.nn.dot_product_attention's cuDNN
#                        flash attention (models/vit.py attention_impl='cudnn')
#   2 resnet_slices      resnet50, the stem max pool without select-and-scatter
#                        (layers.max_pool impl='slices': same values and gradient routing)
#   2b resnet_slices_fastvar  2 with one-pass batch-norm variance (norm='batch_fast')
#   3 vit_cudnn_fused    1 plus one q/k/v matmul (fused_qkv=True, the same parameters)
#   4 resnet_slices_xf   2 under $RESNET_XLA_FLAGS
#   5 vit_cudnn_fused_xf 3 under $VIT_XLA_FLAGS
#   6 torch_vit_base, 7 torch_resnet50: benchmarks/torch_reference.py, only if budget remains,
#                        so the jax/torch ratios come from the same device
# Ratios use this run's torch numbers where it has them, else $TORCH_RESNET50_IPS and
# $TORCH_VIT_BASE_IPS (defaults: gpu_check.sh on one H200, jax 0.11.2 / torch 2.11; marked *).
# Each run gets min(its own timeout, what is left of BUDGET) and is skipped when less than
# its minimum is left, so the script ends within BUDGET plus a few seconds.
#
# Needs jax, flax, optax (and torch, torchvision for 6-7); not TensorFlow or ml_collections.
# CPU smoke test (plumbing only; cuDNN attention needs a GPU, so swap its implementation):
#   BATCH=2 IMAGE_SIZE=32 STEPS=1 NUM_CLASSES=10 DTYPE=float32 VIT_ATTENTION=dot_product \
#     BUDGET=900 bash benchmarks/gpu_variants.sh
# Raw JSON and logs go to $OUT (or a temporary folder).
set -u
cd "$(dirname "$0")/.."
BUDGET=${BUDGET:-380}
VIT_ATTENTION=${VIT_ATTENTION:-cudnn}
# Flag names checked against jaxlib 0.11.2 (an unknown flag aborts at backend start).
# ResNet: CUDA graphs also around cuDNN convolutions (XLA splits its command buffers at ops
# outside the listed kinds), and the latency-hiding scheduler of JAX's GPU performance tips.
RESNET_XLA_FLAGS=${RESNET_XLA_FLAGS:-"--xla_gpu_enable_latency_hiding_scheduler=true --xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUBLASLT,CUSTOM_CALL,CUDNN,CONVOLUTION"}
# ViT: cuBLAS for every GEMM instead of autotuned Triton fusions (the JAX-Toolbox default for
# a long time), and cuDNN's layer norm.
VIT_XLA_FLAGS=${VIT_XLA_FLAGS:-"--xla_gpu_enable_triton_gemm=false --xla_gpu_enable_cudnn_layer_norm=true"}
TORCH_RESNET50_IPS=${TORCH_RESNET50_IPS:-6497.3}
TORCH_VIT_BASE_IPS=${TORCH_VIT_BASE_IPS:-3432.4}
. benchmarks/budgeted_runs.sh

echo "== gpu_variants: $(date -u +%FT%TZ) batch=$BATCH size=$IMAGE_SIZE dtype=$DTYPE" \
     "steps=$STEPS budget=${BUDGET}s results=$RESULTS"
command -v nvidia-smi > /dev/null && nvidia-smi -L
"$PYTHON" -c "
import importlib
for n in ('jax', 'jaxlib', 'flax', 'torch'):
  try:
    print(f'  {n} {importlib.import_module(n).__version__}')
  except ImportError:
    print(f'  {n}: not installed')"

COMMON=(--batch-size "$BATCH" --image-size "$IMAGE_SIZE" --dtype "$DTYPE" --steps "$STEPS"
        --num-classes "$NUM_CLASSES" --json)
JAX=("$PYTHON" -m jaxvision.commands.bench "${COMMON[@]}")
VIT=(--model vit_base --model-setting "attention_impl=$VIT_ATTENTION")
RESNET=(--model resnet50 --model-setting pool_impl=slices)

run vit_cudnn 100 35 "" "${JAX[@]}" "${VIT[@]}"
run resnet_slices 100 35 "" "${JAX[@]}" "${RESNET[@]}"
run resnet_slices_fastvar 100 35 "" "${JAX[@]}" "${RESNET[@]}" --model-setting norm=batch_fast
run vit_cudnn_fused 100 35 "" "${JAX[@]}" "${VIT[@]}" --model-setting fused_qkv=True
run resnet_slices_xf 100 35 "$RESNET_XLA_FLAGS" "${JAX[@]}" "${RESNET[@]}"
run vit_cudnn_fused_xf 100 35 "$VIT_XLA_FLAGS" "${JAX[@]}" "${VIT[@]}" \
    --model-setting fused_qkv=True
run torch_vit_base 100 45 "" "$PYTHON" benchmarks/torch_reference.py --model vit_base \
    "${COMMON[@]}"
run torch_resnet50 130 105 "" "$PYTHON" benchmarks/torch_reference.py --model resnet50 \
    "${COMMON[@]}"

echo
echo "== results ($(( $(date +%s) - START ))s)"
"$PYTHON" - "$RESULTS" "$TORCH_RESNET50_IPS" "$TORCH_VIT_BASE_IPS" "${ORDER[@]}" <<'EOF'
import json, os, sys
results, torch_r50, torch_vit, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

def load(name):
  path = os.path.join(results, name + ".json")
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None

torch = {"resnet50": (float(torch_r50), "*"), "vit_base": (float(torch_vit), "*")}
for model in torch:
  r = load(f"torch_{model}")
  if r:
    torch[model] = (r["images_per_s"], "")
head = (f"{'run':<23}{'model':<10}{'settings [XLA_FLAGS]':<52}{'compile s':>10}{'step ms':>9}"
        f"{'images/s':>10}{'TFLOP/s':>9}{'MFU':>7}{'vs torch':>10}")
print(head)
print("-" * len(head))
flag_sets = {}
for name in names:
  r = load(name)
  if r is None:
    print(f"{name:<23}no result (see {os.path.join(results, name + '.log')})")
    continue
  label = r["framework"]
  if r["framework"] == "jaxvision":
    label = ",".join(f"{k}={v.strip(chr(39))}" for k, v in r.get("model_settings", {}).items())
    if r.get("xla_flags"):
      label += f" [F{flag_sets.setdefault(r['xla_flags'], len(flag_sets) + 1)}]"
  ratio = ""
  if r["framework"] == "jaxvision" and r["model"] in torch:
    ips, mark = torch[r["model"]]
    ratio = f"{r['images_per_s'] / ips:.3f}{mark}"
  mfu = f"{100 * r['mfu']:.1f}%" if r.get("mfu") is not None else "n/a"
  print(f"{name:<23}{r['model']:<10}{label[:51]:<52}{r['compile_s']:>10.1f}{r['step_ms']:>9.2f}"
        f"{r['images_per_s']:>10.1f}{r['tflops_per_s']:>9.2f}{mfu:>7}{ratio:>10}")
for flags, number in flag_sets.items():
  print(f"F{number}: XLA_FLAGS='{flags}'")
print("vs torch: jaxvision images/s over torch's from this run, or (*) from $TORCH_*_IPS; "
      "target >= 1.1. FLOPs: jaxvision", "flops_source per run in the JSON.")
for name in names:
  r = load(name)
  if r and r["framework"] == "jaxvision":
    print(f"  {name}: {r['flops_per_step'] / 1e12:.2f} TFLOP/step ({r['flops_source']}; "
          f"compiled {r['flops_compiled'] / 1e12:.3f}, lowered {r['flops_lowered'] / 1e12:.3f}"
          f", cpu {(r.get('flops_cpu_lowered') or 0) / 1e12:.3f}) device {r['device']}")
EOF
