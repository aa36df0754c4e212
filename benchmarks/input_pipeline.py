"""Training images/s per CPU core and peak RSS: jaxvision's pipeline beside flax's ImageNet one.

  python benchmarks/input_pipeline.py [--num-files 20000] [--dir DIR] [--rounds 2] \
      [--batches 30] [--batch-size 128] [--cores 1]

1. Builds an ImageNet-shaped JPEG dataset from photographs available offline (scikit-learn's
   sample images, and scikit-image's `skimage.data` photographs when installed: pip install
   '.[bench]'): random crops at ImageNet's sizes (shorter side 300-500, aspect 3:4-4:3),
   colour shifts, noise and flips, quality 90-97 (about 100 KB per JPEG; 1,000 distinct
   JPEGs that the files cycle through), written twice: as an image folder
   (DIR/N/folder/train/CLASS/*.jpg, what `data.name=folder` reads) and as TFRecord shards of
   tf.train.Example {image/encoded, label} (what flax's example reads through TFDS).
2. Times, in separate processes run alternately (the machine may be shared: read the
   ratio), `rounds` times each:
   - jaxvision: `pipeline.train_batches` over the folder (global order, read by index,
     decode_and_crop_jpeg fused with random-resized-crop 224, flip, normalise, batch), with
     its default antialiased crop resize and with data.crop_antialias=False;
   - flax: examples/imagenet/input_pipeline.py written as that example does it: TFRecords,
     images left encoded, shuffle(16 * batch), map(decode_and_crop_jpeg + resize 224 +
     flip + normalise), batch, prefetch(10).
   and reports images/s divided by the process's CPU cores, and its peak RSS.
3. Runs jaxvision once more on a quarter of the files: its peak RSS must not grow with the
   dataset (no buffer of decoded images).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CLASSES = 10
SHARD_FILES = 1024
# jaxvision's default (the crop resized with an antialiasing filter, as PIL/torchvision do),
# jaxvision with data.crop_antialias=False (the same resize as flax's), and flax's pipeline.
PIPELINES = ("jaxvision", "jaxvision-no-aa", "flax")


def photographs():
  """Offline photographs as uint8 HWC arrays, each at least 300 pixels on its shorter side."""
  from sklearn.datasets import load_sample_images

  photos = list(load_sample_images().images)
  try:
    from skimage import data as skdata

    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                 "immunohistochemistry", "retina"):
      photos.append(getattr(skdata, name)())
  except ImportError:
    pass
  return [p for p in photos if p.ndim == 3 and min(p.shape[:2]) >= 300]


def imagenet_like_jpeg(photo, rng) -> bytes:
  """One random crop of `photo` at ImageNet's sizes, as JPEG bytes."""
  import io

  import numpy as np
  from PIL import Image

  h, w = photo.shape[:2]
  side = rng.uniform(0.5, 1.0) * min(h, w)
  aspect = rng.uniform(3 / 4, 4 / 3)
  ch, cw = int(min(h, side)), int(min(w, side * aspect))
  top, left = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
  scale = int(rng.integers(300, 501)) / min(ch, cw)  # shorter side 300-500
  image = np.asarray(Image.fromarray(photo[top:top + ch, left:left + cw]).resize(
      (max(1, round(cw * scale)), max(1, round(ch * scale))), Image.BILINEAR), np.float32)
  # Colour shift and sensor-like noise after the resize: the texture that brings the smooth
  # sample photos near ImageNet's ~110 KB per JPEG (the mean is printed when built).
  image = image * rng.uniform(0.8, 1.2, 3) + rng.normal(0, 10, image.shape)
  image = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
  if rng.random() < 0.5:
    image = image.transpose(Image.FLIP_LEFT_RIGHT)
  buffer = io.BytesIO()
  image.save(buffer, format="JPEG", quality=int(rng.integers(90, 98)))
  return buffer.getvalue()


def build_dataset(root: str, num_files: int, distinct: int = 1000):
  """ROOT/folder/train/cK/N.jpg and ROOT/tfrecord/train-NNNNN holding the same JPEG bytes.

  `distinct` different JPEGs are made (encoding is the slow part on a small machine) and
  the files cycle through them: every file is its own file and record, decoded in full.
  """
  import numpy as np
  import tensorflow as tf

  rng = np.random.default_rng(0)
  photos = photographs()
  pool = [imagenet_like_jpeg(photos[i % len(photos)], rng)
          for i in range(min(distinct, num_files))]
  os.makedirs(os.path.join(root, "tfrecord"), exist_ok=True)
  writer = None
  for i in range(num_files):
    data, label = pool[i % len(pool)], i % CLASSES
    folder = os.path.join(root, "folder", "train", f"c{label}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{i:06d}.jpg"), "wb") as f:
      f.write(data)
    if i % SHARD_FILES == 0:
      if writer:
        writer.close()
      writer = tf.io.TFRecordWriter(os.path.join(root, "tfrecord",
                                                 f"train-{i // SHARD_FILES:05d}"))
    example = tf.train.Example(features=tf.train.Features(feature={
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}))
    writer.write(example.SerializeToString())
  writer.close()
  return float(np.mean([len(p) for p in pool]))


# ----------------------------------------------------------------------------- the two pipelines


def jaxvision_stream(root, batch_size, antialias=True):
  from jaxvision.config_defaults import base_data_config
  from jaxvision.data import pipeline, sources, views

  data = base_data_config()
  data.name, data.dir, data.channels, data.image_size = "folder", root, 3, 224
  data.augment, data.resize = ("random_resized_crop", "flip"), "center_crop"
  data.mean, data.std = MEAN, STD
  data.crop_antialias = antialias
  source = sources.load_image_folder_source(os.path.join(root, "folder"), channels=3)
  return pipeline.train_batches(source, views.single_view(data, train=True),
                                local_batch=batch_size, seed=0)


def flax_stream(root, batch_size):
  """flax examples/imagenet/input_pipeline.py (create_split, train=True) on TFRecords."""
  import tensorflow as tf

  def distorted_crop(image_bytes):
    shape = tf.io.extract_jpeg_shape(image_bytes)
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        shape, bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]),
        min_object_covered=0.1, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    offset_y, offset_x, _ = tf.unstack(begin)
    target_h, target_w, _ = tf.unstack(size)
    window = tf.stack([offset_y, offset_x, target_h, target_w])
    image = tf.io.decode_and_crop_jpeg(image_bytes, window, channels=3)
    return tf.image.resize([image], [224, 224], method="bicubic")[0]

  def decode_example(serialized):
    ex = tf.io.parse_single_example(serialized, {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64)})
    image = tf.image.random_flip_left_right(distorted_crop(ex["image/encoded"]))
    image = (tf.reshape(image, [224, 224, 3]) - tf.constant(MEAN) * 255) / (
        tf.constant(STD) * 255)
    return {"image": tf.image.convert_image_dtype(image, tf.float32), "label": ex["label"]}

  files = sorted(tf.io.gfile.glob(os.path.join(root, "tfrecord", "train-*")))
  ds = tf.data.TFRecordDataset(files, num_parallel_reads=tf.data.AUTOTUNE)
  ds = ds.repeat().shuffle(16 * batch_size, seed=0)
  ds = ds.map(decode_example, num_parallel_calls=tf.data.AUTOTUNE)
  return ds.batch(batch_size, drop_remainder=True).prefetch(10).as_numpy_iterator()


def measure(which, root, batch_size, batches):
  stream = {"jaxvision": jaxvision_stream, "flax": flax_stream,
            "jaxvision-no-aa": lambda r, b: jaxvision_stream(r, b, antialias=False)
            }[which](root, batch_size)
  for _ in range(3):  # warm-up: tracing, thread pools, the page cache
    next(stream)
  start = time.perf_counter()
  for _ in range(batches):
    batch = next(stream)
  elapsed = time.perf_counter() - start
  assert batch["image"].shape == (batch_size, 224, 224, 3)
  cores = len(os.sched_getaffinity(0))
  return {"pipeline": which, "images_per_s": batches * batch_size / elapsed,
          "cores": cores, "images_per_s_per_core": batches * batch_size / elapsed / cores,
          "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(which, root, args):
  cmd = [sys.executable, os.path.abspath(__file__), "--child", which, "--dir", root,
         "--batch-size", str(args.batch_size), "--batches", str(args.batches)]
  if args.cores:  # pinned to the first N cores, so "per core" is what one core does
    cmd = ["taskset", "-c", f"0-{args.cores - 1}", *cmd]
  out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
  return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--num-files", type=int, default=20_000)
  p.add_argument("--dir", default="/tmp/jaxvision_imagenet_like")
  p.add_argument("--batch-size", type=int, default=128)
  p.add_argument("--batches", type=int, default=30)
  p.add_argument("--rounds", type=int, default=2)
  p.add_argument("--cores", type=int, default=0,
                 help="pin each timed process to this many cores (0: all it may use)")
  p.add_argument("--child", choices=PIPELINES, help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.child:
    print(json.dumps(measure(args.child, args.dir, args.batch_size, args.batches)))
    return 0
  results = {}
  for tag, count in (("full", args.num_files), ("quarter", args.num_files // 4)):
    root = os.path.join(args.dir, str(count))
    if not os.path.isdir(os.path.join(root, "tfrecord")):
      start = time.perf_counter()
      mean_bytes = build_dataset(root, count)
      print(f"wrote {count} JPEGs (mean {mean_bytes / 1e3:.0f} KB) as a folder and TFRecords "
            f"in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    rounds = args.rounds if tag == "full" else 1
    pipelines = PIPELINES if tag == "full" else ("jaxvision",)
    for r in range(rounds):
      for which in pipelines:
        results.setdefault((tag, which), []).append(run_child(which, root, args))
  print(f"{'dataset':>8} {'pipeline':>10} {'img/s/core (each round)':>28} {'peak RSS MB':>12}")
  for (tag, which), rows in results.items():
    rates = " ".join(f"{row['images_per_s_per_core']:.1f}" for row in rows)
    print(f"{tag:>8} {which:>10} {rates:>28} {max(r['peak_rss_mb'] for r in rows):>12.0f}")
  theirs = [r["images_per_s"] for r in results[("full", "flax")]]
  for which in PIPELINES[:2]:
    ours = [r["images_per_s"] for r in results[("full", which)]]
    ratios = sorted(a / b for a, b in zip(ours, theirs))
    print(f"{which} / flax rate per round: {', '.join(f'{x:.2f}' for x in ratios)} "
          f"(median {ratios[len(ratios) // 2]:.2f})")
  return 0


if __name__ == "__main__":
  sys.exit(main())
