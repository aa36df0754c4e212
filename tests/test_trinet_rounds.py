"""Tri-Net's round driver end to end on the embedded digits: round files, the per-round log,
the vote evaluation, and trinet.restart_schedule annealing each round over its own steps."""

import json
import os

import numpy as np
import pytest

from jaxvision.config_loading import apply_overrides, load_config_file
from jaxvision.train import trinet_rounds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_two_rounds_on_digits_restart_the_schedule(tmp_path):
  config = load_config_file(os.path.join(REPO, "configs/trinet_fashion_mnist.py:runlocal"))
  apply_overrides(config, ["--config.data.name=digits", "--config.data.validation_examples=0",
                           "--config.data.image_size=8",
                           "--config.data.crop_padding=1", "--config.data.mean=(0.5,)",
                           "--config.data.std=(0.25,)", "--config.semi.labels_per_class=5",
                           "--config.eval_batch_size=120", "--config.batch_size=16",
                           "--config.trinet.predict_batch=200",
                           "--config.trinet.labeled_share=0.5"])
  workdir = str(tmp_path / "w")
  metrics = trinet_rounds.run_rounds(config, workdir)
  assert metrics["num_examples"] == 360 and 0.0 <= metrics["accuracy"] <= 1.0

  rounds = [json.loads(line) for line in open(os.path.join(workdir, "trinet_rounds.jsonl"))]
  assert [r["round"] for r in rounds] == [0, 1]
  assert rounds[1]["pool"] == 200  # pool_base 100 * 2^1 (runlocal)
  for v in (1, 2, 3):
    assert 0 <= rounds[1][f"head{v}"]["kept"] <= rounds[1][f"head{v}"]["agreed"] <= 200
  assert os.path.isfile(trinet_rounds.round_path(workdir, 1))

  # labeled_share 0.5: L (50 images) repeated so it is about half of round 1's file.
  labeled = json.load(open(os.path.join(workdir, "labeled_indices.json")))["indices"]
  with np.load(trinet_rounds.round_path(workdir, 1)) as f:
    index = f["index"]
  in_l = np.isin(index, labeled)
  copies = rounds[1]["labeled_copies"]
  assert in_l.sum() == copies * len(labeled)
  assert copies == max(1, round((~in_l).sum() / len(labeled)))

  # runlocal: 10 init steps, then 10 in round 1, logged every 5. Cosine over each round: the
  # rate 5 steps into either round is half the peak (0.002 * (1 + cos(pi/2)) / 2 = 0.001);
  # without the restart, round 1's cosine would run over all 20 steps: 0.00015 at step 15.
  lr = {r["step"]: r["learning_rate"] for r in map(json.loads, open(
      os.path.join(workdir, "metrics.jsonl"))) if r.get("split") == "train"}
  assert abs(lr[5] - lr[15]) < 1e-4, lr
  assert lr[15] > 0.0008, lr


@pytest.mark.parametrize("num_labeled, num_pseudo, share, copies", [
    (400, 6000, 0.5, 15),     # 15 x 400 = 6000: half of 12,000
    (400, 6000, 0.25, 5),     # 2000 of 8000
    (400, 6000, 0.0, 1),      # off: the paper's union
    (400, 100, 0.5, 1),       # never fewer than one copy
    (0, 100, 0.5, 1),
])
def test_labeled_repeats_by_hand(num_labeled, num_pseudo, share, copies):
  assert trinet_rounds.labeled_repeats(num_labeled, num_pseudo, share) == copies
