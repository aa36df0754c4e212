"""Weight files, the name/shape checks and the import folder, without torch (numpy-made files)."""

import json
import os
import struct
import sys

import jax
import numpy as np
import pytest

from jaxvision.errors import UserError
from jaxvision.weights import convert, export, files, presets


def _write_safetensors(path, tensors: dict, *, metadata=None, pad_header=0):
  """The format by hand: u64 LE header size, JSON header, then the raw LE buffer."""
  header, chunks, offset = {}, [], 0
  if metadata:
    header["__metadata__"] = metadata
  for name, (dtype, array) in tensors.items():
    raw = np.ascontiguousarray(array).tobytes()
    header[name] = {"dtype": dtype, "shape": list(np.shape(array)),
                    "data_offsets": [offset, offset + len(raw)]}
    chunks.append(raw)
    offset += len(raw)
  text = json.dumps(header).encode() + b" " * pad_header
  with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def test_safetensors_dtypes(tmp_path):
  f32 = np.arange(12, dtype="<f4").reshape(3, 4) / 8
  f16 = np.array([0.5, -1.25, 3.0], "<f2")
  bf16_values = np.array([[1.5, -2.0], [0.15625, 384.0]], np.float32)  # exact in bfloat16
  bf16_bits = (bf16_values.view(np.uint32) >> 16).astype("<u2")
  i64 = np.array([-3, 0, 2**40], "<i8")
  path = tmp_path / "w.safetensors"
  _write_safetensors(path, {"a.weight": ("F32", f32), "b": ("F16", f16),
                            "c": ("BF16", bf16_bits), "d": ("I64", i64)},
                     metadata={"format": "pt"}, pad_header=5)
  out = files.load_state_dict_file(str(path))
  assert sorted(out) == ["a.weight", "b", "c", "d"]
  np.testing.assert_array_equal(out["a.weight"], f32)
  np.testing.assert_array_equal(out["b"], f16)
  assert out["c"].dtype == np.float32
  np.testing.assert_array_equal(out["c"], bf16_values)
  np.testing.assert_array_equal(out["d"], i64)
  out["a.weight"][0, 0] = 7  # a writable copy, not a view of the file


def test_safetensors_bad_files(tmp_path):
  path = tmp_path / "t.safetensors"
  _write_safetensors(path, {"x": ("F32", np.zeros((4, 4), np.float32))})
  data = path.read_bytes()
  path.write_bytes(data[:-8])  # truncated buffer
  with pytest.raises(UserError, match="'x'.*truncated"):
    files.read_safetensors(str(path))
  path.write_bytes(struct.pack("<Q", 10**12) + data[8:])
  with pytest.raises(UserError, match="not a safetensors file"):
    files.read_safetensors(str(path))
  _write_safetensors(path, {"x": ("F8_E4M3", np.zeros(2, np.uint8))})
  with pytest.raises(UserError, match="F8_E4M3"):
    files.read_safetensors(str(path))


def test_npz_and_wrappers(tmp_path):
  path = tmp_path / "w.npz"
  np.savez(path, **{"module.fc.weight": np.ones((2, 3), np.float32),
                    "module.fc.bias": np.zeros(2, np.float32)})
  out = files.load_state_dict_file(str(path))
  assert sorted(out) == ["fc.bias", "fc.weight"]  # DataParallel's prefix dropped
  np.savez(path, bad=np.array([{"a": 1}], dtype=object))
  with pytest.raises(UserError, match="without pickles"):
    files.load_state_dict_file(str(path))
  assert files.unwrap({"epoch": 3, "state_dict": {"w": 1}}) == {"w": 1}


def test_pth_without_torch_names_the_extra(tmp_path, monkeypatch):
  path = tmp_path / "w.pth"
  path.write_bytes(b"not really a pickle")
  monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
  with pytest.raises(UserError, match=r"jaxvision\[interop\].*safetensors"):
    files.load_state_dict_file(str(path))
  (tmp_path / "w.h5").write_bytes(b"")
  with pytest.raises(UserError, match="suffix"):
    files.load_state_dict_file(str(tmp_path / "w.h5"))
  with pytest.raises(UserError, match="does not exist"):
    files.load_state_dict_file(str(tmp_path / "missing.safetensors"))


def _resnet18_state_dict(num_classes=10, seed=0):
  """A torchvision-layout resnet18 state dict: names and shapes written out by hand."""
  rng = np.random.default_rng(seed)
  sd = {}

  def conv(name, o, i, k):
    sd[f"{name}.weight"] = rng.standard_normal((o, i, k, k), dtype=np.float32)

  def bn(name, c):
    sd[f"{name}.weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    sd[f"{name}.bias"] = rng.standard_normal(c, dtype=np.float32)
    sd[f"{name}.running_mean"] = rng.standard_normal(c, dtype=np.float32)
    sd[f"{name}.running_var"] = rng.uniform(0.5, 2, c).astype(np.float32)
    sd[f"{name}.num_batches_tracked"] = np.array(100, np.int64)

  conv("conv1", 64, 3, 7)
  bn("bn1", 64)
  inplanes = 64
  for stage, planes in enumerate((64, 128, 256, 512), start=1):
    for block in range(2):
      p = f"layer{stage}.{block}"
      conv(f"{p}.conv1", planes, inplanes, 3)
      bn(f"{p}.bn1", planes)
      conv(f"{p}.conv2", planes, planes, 3)
      bn(f"{p}.bn2", planes)
      if block == 0 and stage > 1:
        conv(f"{p}.downsample.0", planes, inplanes, 1)
        bn(f"{p}.downsample.1", planes)
      inplanes = planes
  sd["fc.weight"] = rng.standard_normal((num_classes, 512), dtype=np.float32)
  sd["fc.bias"] = rng.standard_normal(num_classes, dtype=np.float32)
  return sd


def test_layouts_of_a_converted_resnet18():
  sd = _resnet18_state_dict(num_classes=7)
  imported = convert.convert_state_dict("torchvision", "resnet18", sd)
  assert imported.num_classes == 7
  params, stats = imported.variables["params"], imported.variables["batch_stats"]
  w = sd["layer2.0.downsample.0.weight"]  # OIHW (128, 64, 1, 1)
  kernel = params["layer2_0"]["downsample_0"]["kernel"]
  assert kernel.shape == (1, 1, 64, 128) and kernel[0, 0, 5, 9] == w[9, 5, 0, 0]
  w = sd["conv1.weight"]
  assert params["conv1"]["kernel"][2, 4, 1, 33] == w[33, 1, 2, 4]
  np.testing.assert_array_equal(params["fc"]["kernel"], sd["fc.weight"].T)
  np.testing.assert_array_equal(params["layer3_1"]["bn2"]["scale"], sd["layer3.1.bn2.weight"])
  np.testing.assert_array_equal(stats["layer4_0"]["downsample_1"]["var"],
                                sd["layer4.0.downsample.1.running_var"])
  np.testing.assert_array_equal(stats["bn1"]["mean"], sd["bn1.running_mean"])
  # Every value but the BatchNorm counters landed somewhere.
  used = sum(np.size(x) for x in jax.tree.leaves(imported.variables))
  assert used == sum(np.size(v) for k, v in sd.items() if not k.endswith("_tracked"))


def test_wrong_files_are_refused_with_names_and_shapes():
  sd = _resnet18_state_dict()
  bad = dict(sd)
  del bad["layer1.0.conv1.weight"]
  bad["layer1.0.extra.weight"] = np.zeros((3, 3), np.float32)
  bad["layer2.0.bn1.running_var"] = np.ones(64, np.float32)
  with pytest.raises(UserError) as e:
    convert.convert_state_dict("torchvision", "resnet18", bad)
  message = str(e.value)
  assert "1 missing: layer1.0.conv1.weight expected (64, 64, 3, 3), found none" in message
  assert "1 unexpected: layer1.0.extra.weight expected none, found (3, 3)" in message
  assert "layer2.0.bn1.running_var expected (128,), found (64,)" in message
  # A resnet34 file for resnet18: many unexpected names, only the first few listed.
  more = dict(sd, **{f"layer3.{i}.conv1.weight": np.zeros(1, np.float32) for i in range(2, 9)})
  with pytest.raises(UserError, match=r"7 unexpected: .*\(and 2 more\)"):
    convert.convert_state_dict("torchvision", "resnet18", more)
  with pytest.raises(UserError, match="supported: alexnet"):
    convert.convert_state_dict("torchvision", "lenet5", sd)
  with pytest.raises(UserError, match="seresnet50"):
    convert.convert_state_dict("timm", "resnet18", sd)
  with pytest.raises(UserError, match="floating point"):
    convert.convert_state_dict("torchvision", "resnet18",
                               dict(sd, **{"fc.bias": np.zeros(10, np.int64)}))


def test_import_folder_round_trip_and_refusals(tmp_path):
  sd = _resnet18_state_dict(num_classes=5)
  src = tmp_path / "resnet18.npz"
  np.savez(src, **sd)
  taken = tmp_path / "taken"
  taken.mkdir()
  (taken / "notes.txt").write_text("keep me")
  with pytest.raises(UserError, match="not empty.*nothing was changed"):
    export.import_weights_command("torchvision", "resnet18", str(src), str(taken))
  assert os.listdir(taken) == ["notes.txt"]
  with pytest.raises(UserError, match="is a file"):
    export.import_weights_command("torchvision", "resnet18", str(src), str(taken / "notes.txt"))
  with pytest.raises(UserError, match="missing"):  # a wrong file writes nothing
    export.import_weights_command("timm", "se_resnet18", str(src), str(tmp_path / "se"))
  assert not (tmp_path / "se").exists()

  empty = tmp_path / "empty"
  empty.mkdir()
  message = export.import_weights_command("torchvision", "resnet18", str(src), str(empty))
  assert "11,179,077 parameters, 5 classes" in message  # 11,689,512 - 995 * 513 at 1000
  assert sorted(os.listdir(tmp_path)) == ["empty", "resnet18.npz", "taken"]  # no leftovers
  info = export.read_run_info(str(empty))
  assert info["model"] == "resnet18" and info["input_shape"] == [224, 224, 3]
  assert info["pretrained"]["preset"]["crop"] == 224
  name, num_classes, variables = export.load_pretrained(str(empty))
  assert (name, num_classes, sorted(variables)) == ("resnet18", 5, ["batch_stats", "params"])
  np.testing.assert_array_equal(variables["params"]["fc"]["kernel"], sd["fc.weight"].T)
  np.testing.assert_array_equal(variables["batch_stats"]["layer1_1"]["bn2"]["mean"],
                                sd["layer1.1.bn2.running_mean"])
  assert export.is_pretrained_dir(str(empty))


def test_merge_for_fine_tuning_with_a_new_head():
  sd = _resnet18_state_dict(num_classes=5)
  pretrained = convert.convert_state_dict("torchvision", "resnet18", sd).variables
  fresh_sd = _resnet18_state_dict(num_classes=3, seed=1)
  fresh = convert.convert_state_dict("torchvision", "resnet18", fresh_sd).variables
  merged, kept = export.merge_pretrained(fresh, pretrained, "resnet18")
  assert kept == ["params/fc/bias", "params/fc/kernel"]
  np.testing.assert_array_equal(merged["params"]["fc"]["kernel"], fresh["params"]["fc"]["kernel"])
  np.testing.assert_array_equal(merged["params"]["conv1"]["kernel"],
                                pretrained["params"]["conv1"]["kernel"])
  broken = jax.tree.map(lambda x: x, pretrained)
  broken["params"]["conv1"]["kernel"] = np.zeros((3, 3, 3, 64), np.float32)
  with pytest.raises(UserError, match="params/conv1/kernel pretrained"):
    export.merge_pretrained(fresh, broken, "resnet18")


def test_load_pretrained_from_a_training_workdir(tmp_path):
  import optax

  from jaxvision.checkpoint import Checkpointer, check_run_info
  from jaxvision.train.state import TrainState

  # A TrainState as the loop saves it (a model's init is slow on 2 shared cores; the
  # checkpoint's layout does not depend on which model made the leaves).
  params = {"conv": {"kernel": np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)},
            "fc": {"kernel": np.ones((4, 3), np.float32), "bias": np.zeros(3, np.float32)}}
  stats = {"batch_stats": {"bn": {"mean": np.full(4, 0.5, np.float32),
                                  "var": np.full(4, 2.0, np.float32)}}}
  state = TrainState(step=np.int32(3), params=params, model_state=stats,
                     opt_state=optax.sgd(0.1, momentum=0.9).init(params))
  check_run_info(str(tmp_path), {"model": "some_net", "num_classes": 3, "model_settings": {},
                                 "input_shape": [8, 8, 2]})
  checkpointer = Checkpointer(str(tmp_path))
  checkpointer.save(state)
  checkpointer.close()
  name, num_classes, variables = export.load_pretrained(str(tmp_path))
  assert (name, num_classes) == ("some_net", 3)
  assert jax.tree.structure(variables) == jax.tree.structure({"params": params, **stats})
  for got, want in zip(jax.tree.leaves(variables), jax.tree.leaves({"params": params, **stats})):
    np.testing.assert_array_equal(got, want)
  assert not export.is_pretrained_dir(str(tmp_path))


def test_preprocess_closed_form_and_sizes():
  image = np.full((1, 300, 400, 3), (255, 0, 51), np.uint8)  # flat: resize keeps it exactly
  out = presets.preprocess(image, "torchvision")
  assert out.shape == (1, 224, 224, 3) and out.dtype == np.float32
  want = (np.array([1.0, 0.0, 0.2]) - presets.IMAGENET_MEAN) / presets.IMAGENET_STD
  np.testing.assert_allclose(out[0, 100, 50], want, rtol=1e-6)
  assert presets.preprocess(image[:, :, :299], presets.preset_for("inception_v3")).shape == (
      1, 299, 299, 3)
  assert presets.preset_for("vgg16_bn") is presets.PRESETS["torchvision"]
  assert presets.preset_for("se_resnet50")["interpolation"] == "bicubic"
  with pytest.raises(KeyError):
    presets.preset_for("lenet5")


def test_resize_is_pillows():
  from PIL import Image

  rng = np.random.default_rng(0)
  # Proportional reductions and enlargements up to ~2x, where Pillow runs the horizontal
  # pass first (see presets.resize): pixel-identical.
  for (h, w), (oh, ow) in (((300, 400), (256, 341)), ((375, 260), (369, 256)),
                           ((120, 90), (342, 256))):
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for interpolation, pil in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)):
      want = np.asarray(Image.fromarray(image).resize((ow, oh), pil))
      got = presets.resize(image[None], oh, ow, interpolation)[0]
      np.testing.assert_array_equal(got, want, err_msg=f"{h}x{w} {interpolation}")
