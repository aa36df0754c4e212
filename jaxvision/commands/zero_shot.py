"""`jaxvision zero-shot --workdir DIR [--data NAME]`: zero-shot top-1/top-5 of a CLIP run.

Rebuilds the run from WORKDIR/config.json, restores its newest checkpoint, builds the
zero-shot classifier from the class names of `--data` (default: the run's own dataset) and
the run's held-out templates (`clip.eval_templates`, or `--templates` given here), scores
every image of the split once, prints top-1/top-5 and writes a confusion-matrix PNG and
the metrics as JSON (default folder WORKDIR/zero_shot).
"""

import json
import os

HELP = "zero-shot classification with a CLIP run"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("zero-shot", help=HELP)
  p.add_argument("--workdir", required=True, help="a CLIP training workdir")
  p.add_argument("--data", default=None,
                 help="dataset to classify (data.name: fashion_mnist, tfds:NAME, folder...); "
                      "default: the run's own")
  p.add_argument("--data-dir", default=None, help="data.dir for --data")
  p.add_argument("--split", default="test")
  p.add_argument("--templates", nargs="+", default=None,
                 help="prompt templates with {} for the class name (default: the run's "
                      "clip.eval_templates)")
  p.add_argument("--out", default=None, help="folder for confusion.png and metrics.json")


def run(args, rest=()) -> int:
  zero_shot(args)
  return 0


def zero_shot(args) -> dict:
  """Prints and returns {'accuracy', 'top5_accuracy', 'num_examples', 'step'}."""
  import numpy as np

  from jaxvision.errors import UserError
  from jaxvision.evaluate.zero_shot import zero_shot_predictions
  from jaxvision.reporting import confusion
  from jaxvision.reporting.run_config import load_run_config
  from jaxvision.train.experiment import load_trained
  from jaxvision.train.state import eval_variables

  config = load_run_config(args.workdir)
  if config.get("objective") != "clip":
    raise UserError(f"{args.workdir} is a {config.get('objective')!r} run; zero-shot needs a "
                    "CLIP run (objective 'clip')")
  if args.data:
    config.data.name = args.data
    config.data.dir = args.data_dir or ""
  if args.templates and any("{}" not in t for t in args.templates):
    raise UserError("every --templates entry needs {} where the class name goes")
  exp, state = load_trained(config, args.workdir)
  if not exp.source.class_names:
    raise UserError(f"dataset {config.data.name!r} has no class names to build prompts from")
  variables = eval_variables(state)
  tops, labels = zero_shot_predictions(exp, variables, args.split, templates=args.templates)
  metrics = {"accuracy": float(np.mean(tops[:, 0] == labels)),
             "top5_accuracy": float(np.mean(np.any(tops == labels[:, None], axis=1))),
             "num_examples": int(len(labels)), "step": int(state.step)}
  out = args.out or os.path.join(args.workdir, "zero_shot")
  os.makedirs(out, exist_ok=True)
  classes = list(exp.source.class_names)
  matrix = confusion.confusion_matrix(tops[:, 0], labels, len(classes))
  confusion.plot_confusion(matrix, classes, os.path.join(out, "confusion.png"),
                           f"zero-shot on {config.data.name}: top-1 {metrics['accuracy']:.4f}")
  with open(os.path.join(out, "metrics.json"), "w") as f:
    json.dump(dict(metrics, data=config.data.name, split=args.split,
                   templates=list(args.templates or exp.objective.settings.eval_templates)), f,
              indent=1)
  print(f"zero-shot {config.data.name} {args.split}: top-1 {metrics['accuracy']:.4f}, top-5 "
        f"{metrics['top5_accuracy']:.4f} on {metrics['num_examples']:,} images (step "
        f"{metrics['step']}); wrote {out}/confusion.png", flush=True)
  return metrics
