"""Training streams by name: what a method's train step receives as its host-local batch.

A stream is `fn(source, config, *, local_batch, seed, start_step, process_index,
process_count) -> iterator of dicts of numpy arrays`, every leaf with leading dimension
`local_batch` (the loop shards that dimension over devices and hosts). Each must be a
function of (seed, step) so a resumed run sees the batches an uninterrupted run would have:
build it on `pipeline.train_batches`. An objective names its stream (`train_stream`).
"""

from jaxvision.data import pipeline, views


def single_stream(source, config, *, local_batch, seed, start_step, process_index,
                  process_count):
  """Supervised training: one augmented view and its label per example."""
  return pipeline.train_batches(
      source, views.single_view(config.data, train=True), local_batch=local_batch, seed=seed,
      start_step=start_step, process_index=process_index, process_count=process_count)


STREAMS = {
    "single": single_stream,
}

from jaxvision.data import semi  # noqa: E402  (semi-supervised: baseline, MixMatch, Tri-Net)

STREAMS.update(semi_labeled=semi.labeled_stream, mixmatch=semi.mixmatch_stream,
               trinet_round=semi.trinet_round_stream)


def get_stream(name: str):
  if name not in STREAMS:
    raise KeyError(f"unknown train stream {name!r}; valid: {', '.join(sorted(STREAMS))}")
  return STREAMS[name]
