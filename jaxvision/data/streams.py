"""Training streams by name: what a method's train step receives as its host-local batch.

A stream is `fn(source, config, *, local_batch, seed, start_step, process_index,
process_count) -> iterator of dicts of numpy arrays`, every leaf with leading dimension
`local_batch` (the loop shards that dimension over devices and hosts). Each must be a
function of (seed, step) so a resumed run sees the batches an uninterrupted run would have:
build it on `pipeline.train_batches`. An objective names its stream (`train_stream`), or one
per phase (jaxvision/objectives/phases.py), whose `stream_args` reach the stream as keyword
arguments (e.g. Tri-Net's round file).
"""

from jaxvision.data import pipeline, views
from jaxvision.settings.simclr import SimCLRSettings


def single_stream(source, config, *, local_batch, seed, start_step, process_index,
                  process_count):
  """Supervised training: one augmented view and its label per example."""
  return pipeline.train_batches(
      source, views.single_view(config.data, train=True), local_batch=local_batch, seed=seed,
      start_step=start_step, process_index=process_index, process_count=process_count)


STREAMS = {
    "single": single_stream,
}

from jaxvision.data import semi, trinet  # noqa: E402  (the semi-supervised methods)

STREAMS.update(semi_labeled=semi.labeled_stream, mixmatch=semi.mixmatch_stream,
               trinet_round=trinet.trinet_round_stream)

from jaxvision.data import image_text  # noqa: E402  (CLIP: {'image', 'tokens'})

STREAMS["image_text"] = image_text.image_text_stream


def two_view_stream(source, config, *, settings: SimCLRSettings, local_batch, seed,
                    start_step, process_index, process_count):
  """SimCLR: {'view1', 'view2'} per example and no label; the objective's settings."""
  view = views.two_view(config.data, crop_scale=settings.crop_scale,
                        strength=settings.color_strength, blur=settings.blur)
  return pipeline.train_batches(
      source, view, local_batch=local_batch, seed=seed, start_step=start_step,
      process_index=process_index, process_count=process_count)


STREAMS["two_view"] = two_view_stream


def get_stream(name: str):
  if name not in STREAMS:
    raise KeyError(f"unknown train stream {name!r}; valid: {', '.join(sorted(STREAMS))}")
  return STREAMS[name]
