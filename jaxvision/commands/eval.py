"""`jaxvision eval --config configs/NAME.py --workdir DIR [--mode MODE] [--split SPLIT]`: the
latest checkpoint (or an import-weights folder) on the full test (or validation) split."""

from jaxvision.commands import runtime
from jaxvision.errors import UserError

HELP = "evaluate the workdir's latest checkpoint on the test (or validation) split"


def add_parser(subparsers) -> None:
  p = subparsers.add_parser("eval", help=HELP,
                            epilog="Override any config value with --config.KEY=VALUE.")
  runtime.add_run_arguments(p)
  # The names of evaluate/protocols.py's MODES, spelled out: importing it would load JAX
  # before --cpu-devices can set the device count (tests/test_cli_modes.py keeps them equal).
  p.add_argument("--mode", default="center",
                 choices=("center", "ten_crop", "dense", "multi_scale", "multi_crop",
                          "dense+multi_crop"),
                 help="center crop, 10-crop averaging, dense (FC as conv), or VGG's "
                 "multi-scale, 150-crop and dense+multi-crop protocols")
  p.add_argument("--split", default="test", choices=("test", "validation", "train"),
                 help="the split to score; 'validation' is the one data.validation_examples "
                 "holds out of train (choose protocols on it, not on test)")


def run(args, rest) -> int:
  runtime.check_run_arguments(args)
  config = runtime.load_config(args, rest)
  runtime.start_jax(args, config)
  runtime.print_metrics(f"{args.split} ({args.mode})",
                        evaluate_workdir(config, args.workdir, split=args.split,
                                         mode=args.mode))
  return 0


def evaluate_workdir(config, workdir: str, split: str = "test", mode: str = "center") -> dict:
  """Evaluates the latest checkpoint in WORKDIR on the full `split`.

  Classification runs take a protocol `mode` (center, ten_crop, dense); other methods run
  their objective's evaluator (e.g. linear probe and kNN for self-supervised runs).
  """
  import jax

  from jaxvision.evaluate import evaluators, protocols
  from jaxvision.train import experiment, loop
  from jaxvision.train.state import eval_variables
  from jaxvision.weights.export import apply_preset, is_pretrained_dir

  if workdir and is_pretrained_dir(workdir):
    config = apply_preset(config, workdir)  # the reference's preprocessing for its weights
  protocols.check_protocol(config.data, mode)
  exp, state = experiment.load_trained(config, workdir)
  step = int(jax.device_get(state.step))
  if exp.objective.evaluation != "classification":
    if mode != "center":
      raise UserError(f"--mode {mode} is for classifiers; objective {config.objective!r} "
                      f"is evaluated by its {exp.objective.evaluation!r} evaluator")
    return dict(loop.run_eval(exp, state, split), step=step)
  variables = eval_variables(state)
  predict_fn = protocols.make_predict_fn(exp.model, mode, flip=config.data.dense_flip,
                                         data_config=config.data)
  view = None if mode == "center" else protocols.eval_view(config.data, mode)
  metrics = evaluators.classification_eval(exp, variables, split, predict_fn=predict_fn,
                                           view=view)
  return dict(metrics, step=step)
