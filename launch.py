"""Launch an ecgq study.

    python launch.py                                   # experiments/default.py (synthetic, offline)
    python launch.py --config=experiments/mitbih_binary.py:quick --workdir=runs/mitbih
    python launch.py --config=experiments/data_summary.py:mitbih --config.data.task=aami5
    python launch.py --config=experiments/default.py --helpfull   # documents every field

Flags only: the study itself lives in ``ecgq`` and the experiment definition in ``experiments/``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "experiments", "default.py")

_CONFIG = config_flags.DEFINE_config_file(
    "config", DEFAULT_CONFIG, "Study definition: experiments/<study>.py[:preset]."
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Where the study writes its outputs (default: runs/<study file>[_<preset>])."
)


def _config_argument(argv: list[str]) -> str:
    """The value given to --config on the command line (or the default)."""
    for index, arg in enumerate(argv):
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
    return DEFAULT_CONFIG


def _load_config(spec: str):
    path, _, preset = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_ecgq_config", path)
    if module_spec is None or not os.path.isfile(path):
        raise SystemExit(f"--config={spec}: no config file at {path!r}.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(preset or None)


def _document_config_fields(argv: list[str]) -> None:
    """Make --help/--helpfull list every field of the chosen config with its documentation."""
    if not any(arg in ("--help", "--helpfull", "-?", "--helpshort") for arg in argv):
        return
    from ecgq.config_docs import help_text

    flags.FLAGS["config"].help += "\n" + help_text(_load_config(_config_argument(argv)))


def _default_workdir(spec: str) -> str:
    path, _, preset = spec.partition(":")
    name = os.path.splitext(os.path.basename(path))[0] + (f"_{preset}" if preset else "")
    return os.path.join("runs", name)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from ecgq.run import run

    workdir = _WORKDIR.value or _default_workdir(_config_argument(sys.argv))
    logging.info("Study %s, workdir %s", _CONFIG.value.study, workdir)
    run(_CONFIG.value, workdir)


if __name__ == "__main__":
    _document_config_fields(sys.argv)
    app.run(main)
