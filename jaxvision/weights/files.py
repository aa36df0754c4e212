"""Reading a reference checkpoint into {name: numpy array}: .safetensors, .npz, .pth/.pt.

.safetensors and .npz are parsed with numpy alone, so importing weights needs no PyTorch;
.pth/.pt files are pickles that only torch can read safely (`weights_only=True`), so they
need the optional [interop] extra.

safetensors layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, and an
optional "__metadata__"}, then the raw little-endian buffer the offsets index into.
"""

import json
import os

import numpy as np

from jaxvision.errors import UserError

# Little-endian numpy types of the safetensors dtype names. BF16 has no numpy type: its bits
# are the upper half of a float32, so it is read as uint16 and widened (see _bf16_to_f32).
SAFETENSORS_DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
}
# The header is JSON for names and shapes only; larger means a file of another kind.
_MAX_HEADER = 100 * 2**20
# Checkpoints saved from a training script often wrap the state dict under one of these.
_WRAPPERS = ("state_dict", "model", "model_state_dict", "model_state")

INTEROP_HINT = ("pip install 'jaxvision[interop]' to read .pth/.pt files, or convert the file "
                "to .safetensors (safetensors.torch.save_file(state_dict, 'weights.safetensors'))"
                " on a machine with torch")


def _bf16_to_f32(bits: np.ndarray) -> np.ndarray:
  return (bits.astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path: str) -> dict[str, np.ndarray]:
  """The tensors of a .safetensors file as numpy arrays (BF16 widened to float32)."""
  size = os.path.getsize(path)
  with open(path, "rb") as f:
    raw = f.read(8)
    if len(raw) < 8:
      raise UserError(f"{path} is not a safetensors file: shorter than its 8-byte header size")
    header_len = int.from_bytes(raw, "little")
    if header_len > min(_MAX_HEADER, size - 8):
      raise UserError(f"{path} is not a safetensors file: header size {header_len} does not "
                      f"fit a {size}-byte file")
    try:
      header = json.loads(f.read(header_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
      raise UserError(f"{path} is not a safetensors file: unreadable header ({e})") from None
  if not isinstance(header, dict):
    raise UserError(f"{path} is not a safetensors file: the header is not a JSON object")
  header.pop("__metadata__", None)
  start = 8 + header_len
  buffer = np.memmap(path, dtype=np.uint8, mode="r") if size > start else np.zeros(0, np.uint8)
  tensors = {}
  for name, entry in header.items():
    try:
      dtype_name, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
    except (TypeError, KeyError, ValueError):
      raise UserError(f"{path}: tensor {name!r} lacks dtype/shape/data_offsets") from None
    if dtype_name not in SAFETENSORS_DTYPES:
      raise UserError(f"{path}: tensor {name!r} has dtype {dtype_name}, which jaxvision does "
                      f"not read (readable: {', '.join(SAFETENSORS_DTYPES)})")
    dtype = np.dtype(SAFETENSORS_DTYPES[dtype_name])
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if not 0 <= begin <= end <= size - start or end - begin != nbytes:
      raise UserError(f"{path}: tensor {name!r} ({dtype_name} {tuple(shape)}) has offsets "
                      f"[{begin}, {end}) that do not fit its size or the file; truncated file?")
    # Copy out of the memory map: the arrays outlive the file handle and may be modified.
    array = np.frombuffer(buffer[start + begin:start + end], dtype=dtype).reshape(shape)
    tensors[name] = _bf16_to_f32(array) if dtype_name == "BF16" else array.copy()
  return tensors


def read_npz(path: str) -> dict[str, np.ndarray]:
  """The arrays of an .npz file; object arrays (pickles) are refused."""
  try:
    with np.load(path, allow_pickle=False) as archive:
      return {name: archive[name] for name in archive.files}
  except ValueError as e:  # allow_pickle=False on an object array, or not a zip
    raise UserError(f"cannot read {path} as .npz without pickles: {e}") from None


def read_torch(path: str) -> dict[str, np.ndarray]:
  """A .pth/.pt state dict through torch.load(weights_only=True): tensors only, no code."""
  try:
    import torch
  except ImportError:
    raise UserError(f"{path} is a PyTorch pickle and torch is not installed: "
                    f"{INTEROP_HINT}") from None
  try:
    loaded = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # torch raises pickle, zip and its own errors for bad files
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    raise UserError(f"torch could not read {path} as a weights-only state dict: {first}")
  if not isinstance(loaded, dict):
    raise UserError(f"{path} holds a {type(loaded).__name__}, not a state dict; save "
                    "model.state_dict() instead of the model object")
  out = {}
  for name, value in unwrap(loaded).items():
    if not isinstance(value, torch.Tensor):
      raise UserError(f"{path}: entry {name!r} is a {type(value).__name__}, not a tensor")
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16:  # numpy has no bfloat16
      value = value.float()
    out[name] = value.numpy()
  return out


def unwrap(state_dict: dict) -> dict:
  """The state dict inside a training checkpoint ({'state_dict': {...}}), without the
  'module.' prefix that torch.nn.DataParallel/DistributedDataParallel add to every name."""
  # Training scripts store {'epoch': ..., 'state_dict': {...}, 'optimizer': ...}.
  for key in _WRAPPERS:
    if isinstance(state_dict.get(key), dict):
      return unwrap(state_dict[key])
  if state_dict and all(k.startswith("module.") for k in state_dict):
    state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
  return state_dict


def load_state_dict_file(path: str) -> dict[str, np.ndarray]:
  """{name: numpy array} from a .safetensors, .npz, .pth or .pt file (chosen by suffix)."""
  if not os.path.isfile(path):
    raise UserError(f"weights file {path} does not exist")
  suffix = os.path.splitext(path)[1].lower()
  if suffix == ".safetensors":
    return read_safetensors(path)
  if suffix == ".npz":
    return unwrap(read_npz(path))
  if suffix in (".pth", ".pt", ".bin"):
    return read_torch(path)
  raise UserError(f"cannot tell the format of {path} from its suffix {suffix or '(none)'}; "
                  "use .safetensors, .npz, .pth or .pt")
