"""Imported weights give the reference's logits: torchvision/timm models vs jaxvision models.

Each reference model is randomly initialised (fp32, eval mode) with its BatchNorm statistics
and affine parameters and every bias randomised, so a swapped mean/var, a dropped bias or a
transposed kernel shows in the logits; the same random input goes through both. Inputs are
the smallest the architectures take comfortably (the costs are the CPU's): 64x64 ResNets
(2x2 final map), 32x32 VGG (1x1 map, replicated by the adaptive pool to 7x7) and one VGG at
96x96 (3x3 -> 7x7: unequal, overlapping bins), AlexNet at 127x127 (3x3 -> 6x6), GoogLeNet
at 64x64, Inception v3 at 75x75 (its minimum). Aux heads do not run in eval mode, so they
are compared head to head on random feature maps of their input size.

Skipped without torch/torchvision (the [interop] extra); timm is optional.
"""

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from jaxvision import models  # noqa: E402
from jaxvision.models import googlenet, inception  # noqa: E402
from jaxvision.weights import convert, export, files, presets  # noqa: E402

RTOL = 1e-4  # relative L2 error of the logits; measured errors are ~1e-6 (see the report)


def _randomise(module: "torch.nn.Module", seed: int) -> None:
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in module.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
        m.running_var.copy_(0.5 + 1.5 * torch.rand(m.running_var.shape, generator=g))
        m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
      if getattr(m, "bias", None) is not None:
        m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
  module.eval()


def _state_dict(module) -> dict[str, np.ndarray]:
  return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _rel(ours, ref) -> float:
  ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
  return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


def _reference(module, x_nchw):
  with torch.no_grad():
    return module(torch.from_numpy(x_nchw)).numpy()


def _apply(model, variables, x_nchw):
  x = x_nchw.transpose(0, 2, 3, 1)
  if isinstance(model, (googlenet.GoogLeNet, inception.InceptionV3)):
    # Eagerly, their many small pooling/concat ops each compile on their own (~11 s for
    # GoogLeNet); one jit is ~3 s. The ResNets and VGGs are faster eagerly.
    return jax.jit(lambda v, x: model.apply(v, x, train=False))(variables, x)
  return model.apply(variables, x, train=False)


def _compare(name, module, size, *, fmt="torchvision", seed=0):
  _randomise(module, seed)
  x = np.random.default_rng(seed).standard_normal((2, 3, size, size), dtype=np.float32)
  ref = _reference(module, x)
  imported = convert.convert_state_dict(fmt, name, _state_dict(module))
  del module
  model = models.get_model(name, num_classes=imported.num_classes, **imported.model_settings)
  ours = _apply(model, imported.variables, x)
  assert ours.shape == ref.shape
  error = _rel(ours, ref)
  print(f"{name}: rel L2 {error:.2e}")
  assert error < RTOL, f"{name}: relative L2 error {error:.2e}"
  return imported


@pytest.mark.parametrize("name,size", [
    ("alexnet", 127), ("vgg11", 96), ("vgg13", 32), ("vgg16", 32), ("vgg19", 32),
    ("vgg11_bn", 32), ("vgg13_bn", 32), ("vgg16_bn", 32), ("vgg19_bn", 32),
    ("resnet18", 64), ("resnet34", 64), ("resnet50", 64), ("resnet101", 64),
    ("resnet152", 64)])
def test_torchvision_logits(name, size):
  # num_classes=10 keeps the class count read from the file honest (not a default 1000).
  _compare(name, getattr(torchvision.models, name)(num_classes=10), size)


def test_googlenet_without_aux():
  ref = torchvision.models.googlenet(num_classes=10, aux_logits=False, transform_input=False,
                                     init_weights=True)
  imported = _compare("googlenet", ref, 64)
  assert imported.model_settings == {"aux_logits": False}
  assert "aux1" not in imported.variables["params"]


def _compare_aux(head_module, ours_cls, variables, name, feature_shape, seed):
  x = np.random.default_rng(seed).standard_normal(feature_shape, dtype=np.float32)
  ref = _reference(head_module, x)
  head = ours_cls(num_classes=ref.shape[-1])
  head_vars = {c: variables[c][name] for c in ("params", "batch_stats")}
  error = _rel(head.apply(head_vars, x.transpose(0, 2, 3, 1), train=False), ref)
  print(f"{name}: rel L2 {error:.2e}")
  assert error < RTOL, f"{name}: relative L2 error {error:.2e}"


def test_googlenet_with_aux_heads():
  ref = torchvision.models.googlenet(num_classes=10, aux_logits=True, transform_input=False,
                                     init_weights=True)
  imported = _compare("googlenet", ref, 64, seed=1)
  assert imported.model_settings == {"aux_logits": True}
  # aux1 reads inception4a's 512 channels, aux2 inception4d's 528; 8x8 -> adaptive 4x4.
  _compare_aux(ref.aux1, googlenet.InceptionAux, imported.variables, "aux1", (2, 512, 8, 8), 2)
  _compare_aux(ref.aux2, googlenet.InceptionAux, imported.variables, "aux2", (2, 528, 7, 7), 3)


@pytest.mark.parametrize("aux", [False, True])
def test_inception_v3(aux):
  ref = torchvision.models.inception_v3(num_classes=10, aux_logits=aux, transform_input=False,
                                        init_weights=True)
  imported = _compare("inception_v3", ref, 75, seed=4)
  if aux:  # the head sits on the 17x17 grid of Mixed_6e (768 channels)
    _compare_aux(ref.AuxLogits, inception.InceptionAux, imported.variables, "AuxLogits",
                 (2, 768, 17, 17), 5)


@pytest.mark.parametrize("name,timm_name", sorted(convert.TIMM_MODELS.items()))
def test_timm_se_resnet(name, timm_name):
  timm = pytest.importorskip("timm")
  _compare(name, timm.create_model(timm_name, pretrained=False, num_classes=10), 64,
           fmt="timm", seed=6)


def test_transform_input_matches_torchvision():
  # import-weights records transform_input=True for GoogLeNet (torchvision's pretrained
  # setting); check that our transform is torchvision's on the same weights.
  ref = torchvision.models.googlenet(num_classes=10, aux_logits=False, transform_input=True,
                                     init_weights=True)
  _randomise(ref, 7)
  x = np.random.default_rng(7).standard_normal((2, 3, 64, 64), dtype=np.float32)
  imported = convert.convert_state_dict("torchvision", "googlenet", _state_dict(ref),
                                        {"transform_input": True})
  model = models.get_model("googlenet", num_classes=10, **imported.model_settings)
  assert _rel(_apply(model, imported.variables, x), _reference(ref, x)) < RTOL


def test_pth_and_safetensors_files_through_import_weights(tmp_path):
  # The whole path: torch.save / safetensors.torch files -> import-weights -> load_pretrained.
  ref = torchvision.models.resnet18(num_classes=7)
  _randomise(ref, 8)
  x = np.random.default_rng(8).standard_normal((2, 3, 64, 64), dtype=np.float32)
  expected = _reference(ref, x)
  pth = tmp_path / "resnet18.pth"
  torch.save({"epoch": 3, "state_dict": ref.state_dict()}, pth)  # a training checkpoint
  sources = [pth]
  try:
    from safetensors.torch import save_file
  except ImportError:
    pass
  else:
    sources.append(tmp_path / "resnet18.safetensors")
    save_file(ref.state_dict(), sources[-1])
  for i, src in enumerate(sources):
    out = tmp_path / f"imported{i}"
    message = export.import_weights_command("torchvision", "resnet18", str(src), str(out))
    assert "7 classes" in message and str(out) in message
    name, num_classes, variables = export.load_pretrained(str(out))
    assert (name, num_classes) == ("resnet18", 7)
    ours = models.get_model(name, num_classes=7).apply(variables, x.transpose(0, 2, 3, 1),
                                                       train=False)
    assert _rel(ours, expected) < RTOL


def test_safetensors_reader_matches_the_reference_writer(tmp_path):
  st = pytest.importorskip("safetensors.torch")
  g = torch.Generator().manual_seed(9)
  tensors = {"f32": torch.randn(3, 4, generator=g), "f16": torch.randn(5, generator=g).half(),
             "bf16": torch.randn(2, 3, generator=g).bfloat16(),
             "i64": torch.arange(6).reshape(2, 3), "scalar": torch.tensor(1.5)}
  path = tmp_path / "t.safetensors"
  st.save_file(tensors, path, metadata={"format": "pt"})
  loaded = files.read_safetensors(str(path))
  assert set(loaded) == set(tensors)
  for name, tensor in tensors.items():
    want = (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()
    assert loaded[name].dtype == want.dtype and loaded[name].shape == want.shape, name
    np.testing.assert_array_equal(loaded[name], want)


def test_preprocess_matches_torchvision_transforms():
  from PIL import Image
  from torchvision import transforms

  rng = np.random.default_rng(10)
  # A smooth image plus noise (natural-ish statistics), landscape and portrait.
  for h, w in ((300, 400), (375, 260)):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(xx / 17.0 + c) * np.cos(yy / 23.0) for c in range(3)], -1)
    image = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    for name in ("resnet50", "inception_v3"):
      preset = presets.preset_for(name)
      reference = transforms.Compose([
          transforms.Resize(preset["resize"]), transforms.CenterCrop(preset["crop"]),
          transforms.ToTensor(), transforms.Normalize(preset["mean"], preset["std"])])
      want = reference(Image.fromarray(image)).numpy().transpose(1, 2, 0)
      ours = presets.preprocess(image[None], preset)[0]
      assert ours.shape == want.shape
      # Pixel-exact resize gives float32 rounding only: 1e-5 of a std-normalised value.
      np.testing.assert_allclose(ours, want, atol=1e-5, err_msg=f"{name} {h}x{w}")
