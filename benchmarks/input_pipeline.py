"""Images/s of the tf.data training pipeline on one host: read, JPEG decode, augment, batch.

  python benchmarks/input_pipeline.py [--num-images 512] [--source-size 375x500] \
      [--image-size 224] [--batch-size 128] [--batches 20] \
      [--augment random_resized_crop,flip] [--json]

It writes `num-images` random JPEGs (smooth noise, quality 90, about the size of an average
ImageNet photo by default) to a temporary image folder, loads it with
`jaxvision.data.sources.load_image_folder_source` and runs `jaxvision.data.pipeline.
train_batches` with `views.single_view` -- the code `jaxvision train` runs for
`data.name=folder` -- timing `batches` batches after one warm-up batch (which includes
tf.data's tracing). The files sit in the page cache after writing, so disk reads are not
measured. Compare the result with `jaxvision bench`'s images/s per host: the accelerators
starve when the pipeline is slower.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def write_jpegs(root: str, num_images: int, height: int, width: int, num_classes: int = 4):
  """ROOT/{train,test}/classK/N.jpg of smooth random colour images."""
  import numpy as np
  from PIL import Image

  rng = np.random.default_rng(0)
  for i in range(num_images):
    small = rng.integers(0, 256, (max(height // 16, 1), max(width // 16, 1), 3), np.uint8)
    image = Image.fromarray(small).resize((width, height), Image.BILINEAR)
    noise = rng.integers(-12, 13, (height, width, 3))
    pixels = np.clip(np.asarray(image, np.int16) + noise, 0, 255).astype(np.uint8)
    for split in (("train", "test") if i < num_classes else ("train",)):
      folder = os.path.join(root, split, f"class{i % num_classes}")
      os.makedirs(folder, exist_ok=True)
      Image.fromarray(pixels).save(os.path.join(folder, f"{i:06d}.jpg"), quality=90)


def measure(root: str, *, image_size: int, batch_size: int, batches: int, augment: tuple):
  from jaxvision.config_defaults import base_data_config
  from jaxvision.data import pipeline, sources, views

  data = base_data_config()
  data.name, data.dir, data.channels = "folder", root, 3
  data.image_size, data.augment = image_size, augment
  data.resize = "center_crop"  # used only when no op in `augment` crops the raw image
  data.mean, data.std = IMAGENET_MEAN, IMAGENET_STD
  source = sources.load_image_folder_source(root, channels=3)
  stream = pipeline.train_batches(source, views.single_view(data, train=True),
                                  local_batch=batch_size, seed=0)
  start = time.perf_counter()
  first = next(stream)
  first_s = time.perf_counter() - start
  start = time.perf_counter()
  for _ in range(batches):
    batch = next(stream)
  elapsed = time.perf_counter() - start
  assert batch["image"].shape == (batch_size, image_size, image_size, 3), batch["image"].shape
  del first
  return {"images_per_s": batches * batch_size / elapsed, "first_batch_s": first_s,
          "batches": batches, "batch_size": batch_size, "image_size": image_size,
          "augment": list(augment), "cpu_count": os.cpu_count(),
          "train_images": source.num_examples["train"]}


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--num-images", type=int, default=512)
  p.add_argument("--source-size", default="375x500", help="HEIGHTxWIDTH of the JPEGs")
  p.add_argument("--image-size", type=int, default=224)
  p.add_argument("--batch-size", type=int, default=128)
  p.add_argument("--batches", type=int, default=20)
  p.add_argument("--augment", default="random_resized_crop,flip",
                 help="comma-separated data.augment ops")
  p.add_argument("--dir", default=None, help="reuse/keep the JPEG folder here")
  p.add_argument("--json", action="store_true")
  args = p.parse_args(argv)
  height, width = (int(v) for v in args.source_size.lower().split("x"))
  augment = tuple(op for op in args.augment.split(",") if op)
  with tempfile.TemporaryDirectory() as tmp:
    root = args.dir or tmp
    if not os.path.isdir(os.path.join(root, "train")):
      start = time.perf_counter()
      write_jpegs(root, args.num_images, height, width)
      print(f"wrote {args.num_images} {height}x{width} JPEGs in "
            f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    r = measure(root, image_size=args.image_size, batch_size=args.batch_size,
                batches=args.batches, augment=augment)
  r["source_size"] = [height, width]
  if args.json:
    print(json.dumps(r, sort_keys=True))
    return 0
  rows = [("pipeline", f"image folder -> decode -> {' -> '.join(augment) or 'resize'} -> "
                       "normalise -> batch"),
          ("JPEGs", f"{r['train_images']} of {height}x{width}, quality 90"),
          ("output", f"batch {r['batch_size']} x {r['image_size']}x{r['image_size']}x3"),
          ("host CPUs", str(r["cpu_count"])),
          ("first batch", f"{r['first_batch_s']:.2f} s (includes tracing)"),
          (f"images/s (over {r['batches']} batches)", f"{r['images_per_s']:,.1f}"),
          ("images/s per CPU", f"{r['images_per_s'] / r['cpu_count']:,.1f}")]
  width_ = max(len(k) for k, _ in rows)
  print("\n".join(f"  {k:<{width_}}  {v}" for k, v in rows))
  return 0


if __name__ == "__main__":
  sys.exit(main())
