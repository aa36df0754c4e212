"""The one path abstraction: every workdir path is a local folder or an object-store URL.

A workdir on a TPU pod lives in a bucket (`gs://bucket/run`) that every worker shares, so
nothing that reads or writes a workdir may use `open()` or `os.path` on it: those would
silently create a local folder named `gs:`. Everything goes through this module, which
hands local paths to `os` (atomic renames, O_EXCL) and URLs to `etils.epath` over fsspec
(gcsfs for gs://, s3fs for s3://). Orbax and tensorstore take the URL as it is.

Emulators: Google's clients read `STORAGE_EMULATOR_HOST`; tensorstore reads its own
variable and would otherwise ask the GCE metadata server for credentials. When the first is
set, `configure_object_storage()` points tensorstore at the same server with a fixed token,
makes fsspec's gcsfs anonymous, and keeps epath off TensorFlow's GCS client (which ignores
emulators).
"""

import os

REMOTE_SCHEMES = ("gs://", "s3://")


def is_remote(path) -> bool:
  return str(path).startswith(REMOTE_SCHEMES)


def configure_object_storage() -> None:
  """Idempotent; sets only what the user has not set. Also inherited by child processes."""
  # One tested client for gs:// everywhere (gcsfs), rather than TensorFlow's on some paths.
  if os.environ.setdefault("EPATH_USE_TF", "false") == "false":
    # etils decides once per process (a cached function) on its first path: a process that
    # used epath before this call (a test run, a notebook) would keep TensorFlow's client.
    try:
      from etils.epath import gpath
      getattr(gpath, "_is_tf_installed", None) and gpath._is_tf_installed.cache_clear()
    except ImportError:
      pass
  emulator = os.environ.get("STORAGE_EMULATOR_HOST")
  if not emulator:
    return
  if not emulator.startswith(("http://", "https://")):
    emulator = "http://" + emulator
  os.environ.setdefault("TENSORSTORE_GCS_HTTP_URL", emulator)
  os.environ.setdefault("GOOGLE_AUTH_TOKEN_FOR_TESTING", "anonymous")
  # The emulator has no storage-control API, which gcsfs's zonal-bucket probe would call.
  os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
  os.environ.setdefault("FSSPEC_GS_TOKEN", "anon")
  # google-cloud-cpp (ArrayRecord's GCS reader, for TFDS data_dir in a bucket) reads this
  # one, and then uses no credentials.
  os.environ.setdefault("CLOUD_STORAGE_EMULATOR_ENDPOINT", emulator)
  try:
    import fsspec
  except ImportError:
    return
  fsspec.config.conf.setdefault("gs", {}).setdefault("token", "anon")


def _epath(path):
  configure_object_storage()
  try:
    from etils import epath
  except ImportError:  # pragma: no cover - etils comes with orbax
    raise RuntimeError("etils is needed for object-store paths") from None
  return epath.Path(path)


def _fs(path):
  """The fsspec filesystem of a URL; a missing client is a one-line user error."""
  from jaxvision.errors import UserError

  configure_object_storage()
  try:
    import fsspec
    return fsspec.core.url_to_fs(str(path))[0]
  except ImportError as e:
    raise UserError(f"{path}: the client for this URL is not installed ({e}); "
                    "pip install gcsfs (gs://) or s3fs (s3://)") from None


def join(base, *parts) -> str:
  base = str(base)
  if is_remote(base):
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
  return os.path.join(base, *parts)


def absolute(path) -> str:
  """Local paths made absolute (Orbax requires it); URLs are absolute already."""
  return str(path) if is_remote(path) else os.path.abspath(path)


def exists(path) -> bool:
  return _epath(path).exists() if is_remote(path) else os.path.exists(path)


def isdir(path) -> bool:
  return _epath(path).is_dir() if is_remote(path) else os.path.isdir(path)


def makedirs(path) -> None:
  """A no-op on object stores (no folders there, only names), else os.makedirs."""
  if not is_remote(path):
    os.makedirs(path, exist_ok=True)


def listdir(path) -> list[str]:
  if is_remote(path):
    p = _epath(path)
    return sorted(c.name for c in p.iterdir()) if p.is_dir() else []
  return sorted(os.listdir(path)) if os.path.isdir(path) else []


def read_text(path) -> str:
  if is_remote(path):
    return _epath(path).read_text()
  with open(path) as f:
    return f.read()


def read_bytes(path) -> bytes:
  if is_remote(path):
    return _epath(path).read_bytes()
  with open(path, "rb") as f:
    return f.read()


def write_text(path, text: str) -> None:
  """Whole-file write that a reader never sees half done: an object upload is atomic; a
  local file is written beside and renamed."""
  if is_remote(path):
    _epath(path).write_text(text)
    return
  tmp = f"{path}.tmp{os.getpid()}"
  with open(tmp, "w") as f:
    f.write(text)
  os.replace(tmp, path)


def write_bytes(path, data: bytes) -> None:
  if is_remote(path):
    _epath(path).write_bytes(data)
    return
  with open(path, "wb") as f:
    f.write(data)


def append_text(path, text: str) -> None:
  """Appends locally; an object cannot be appended to, so it is rewritten whole."""
  if is_remote(path):
    old = read_text(path) if exists(path) else ""
    write_text(path, old + text)
    return
  with open(path, "a") as f:
    f.write(text)


def remove(path) -> None:
  if is_remote(path):
    _fs(path).rm(str(path), recursive=False)
  else:
    os.remove(path)


def move(src, dst) -> None:
  """Moves a file or a folder (a checkpoint set aside); on object stores, copy + delete."""
  if is_remote(src):
    fs = _fs(src)
    # Copy + delete, as gcsfs falls back to anyway: its first try, the objects.move API,
    # is missing on emulators and logs a traceback per object there.
    fs.copy(str(src), str(dst), recursive=True)
    fs.rm(str(src), recursive=True)
    # Every instance's cached listings (epath, hence Orbax, holds its own instance) would
    # still show SRC's old objects: a checkpoint manager deleting a later step of the same
    # number would delete those names and fail with FileNotFoundError.
    for instance in list(getattr(type(fs), "_cache", {}).values()) + [fs]:
      instance.invalidate_cache()
  else:
    os.replace(src, dst)


def local_open(path, mode="r"):
  """An open file for libraries that take a file object (matplotlib, tensorboardX)."""
  if is_remote(path):
    return _epath(path).open(mode)
  return open(path, mode)


# Conditional writes, for the workdir lease. On object stores the store itself decides
# (a generation precondition: 0 means "must not exist"); locally os.link of a complete
# temporary file is the atomic create-if-absent (O_EXCL would expose an empty file to a
# reader for a moment).


class PreconditionFailed(Exception):
  """Another writer created or changed the object first."""


def _gcs_upload(path, text: str, generation: int):
  import json

  fs = _fs(path)
  bucket, _, key = str(path)[len("gs://"):].partition("/")
  body = (f"--==0==\nContent-Type: application/json; charset=UTF-8\n\n"
          f"{json.dumps({'name': key})}\n--==0==\nContent-Type: text/plain\n\n").encode()
  body += text.encode() + b"\n--==0==--"
  try:
    reply = fs.call("POST", f"{fs._location}/upload/storage/v1/b/{bucket}/o",
                    uploadType="multipart", ifGenerationMatch=str(generation),
                    headers={"Content-Type": 'multipart/related; boundary="==0=="'},
                    data=body, json_out=True)
  except FileExistsError:  # gcsfs's name for HTTP 412, precondition failed
    raise PreconditionFailed(str(path)) from None
  except OSError as e:  # other gcsfs versions: HttpError with the HTTP code
    if getattr(e, "code", None) in (409, 412):
      raise PreconditionFailed(str(path)) from None
    raise
  fs.invalidate_cache(str(path))
  return int(reply["generation"])


def read_versioned(path):
  """(text, version) of a file, or (None, None) when it does not exist."""
  if str(path).startswith("gs://"):
    fs = _fs(path)
    fs.invalidate_cache(str(path))
    try:
      info = fs.info(str(path))
      # Read after the generation: if it changed in between, a write conditional on the
      # older generation fails, which is the safe side.
      return fs.cat_file(str(path)).decode(), int(info["generation"])
    except FileNotFoundError:
      return None, None
  try:
    with open(path) as f:
      text = f.read()
  except FileNotFoundError:
    return None, None
  return text, text


def create_exclusive(path, text: str):
  """Writes `text` only if `path` does not exist; returns its version."""
  if str(path).startswith("gs://"):
    return _gcs_upload(path, text, 0)
  if is_remote(path):
    raise NotImplementedError(f"{path}: conditional writes are implemented for gs:// only")
  tmp = f"{path}.new{os.getpid()}"
  with open(tmp, "w") as f:
    f.write(text)
  try:
    os.link(tmp, path)
  except FileExistsError:
    raise PreconditionFailed(str(path)) from None
  finally:
    os.remove(tmp)
  return text


def replace_if(path, text: str, version):
  """Writes `text` only if `path` is still at `version`; returns the new version.

  Local files have no versions: the content is compared and the file replaced right after,
  which leaves a window of microseconds between two writers; object stores close it.
  """
  if str(path).startswith("gs://"):
    return _gcs_upload(path, text, version)
  current, _ = read_versioned(path)
  if current != version:
    raise PreconditionFailed(str(path))
  write_text(path, text)
  return text
