"""Launch an ecgq study.

    python launch.py                                   # experiments/default.py (synthetic, offline)
    python launch.py --config=experiments/mitbih_binary.py:quick --workdir=runs/mitbih
    python launch.py --config=experiments/data_summary.py:mitbih --config.data.task=aami5
    python launch.py --config=experiments/default.py --helpfull   # documents every field
    python launch.py --coordinator_address=node0:1234 --num_processes=2 --process_id=0 ...  # per host

Flags only: the study itself lives in ``ecgq.studies`` and the experiment definition in
``experiments/``. The config is completed (a switched ``data.name`` brings that dataset's
defaults) and checked in the first seconds; a user error (bad flag, path or data) prints one line
naming the field or file and exits with status 2.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "experiments", "default.py")
USAGE_ERROR = 2

_CONFIG = config_flags.DEFINE_config_file(
    "config", DEFAULT_CONFIG, "Study definition: experiments/<study>.py[:preset]."
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Where the study writes its outputs (default: runs/<study file>[_<preset>])."
)
# Several hosts (ecgq.train.distributed): one process per host, the same command on each.
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "host:port of process 0 for jax.distributed.initialize "
    "(else $ECGQ_COORDINATOR_ADDRESS or $JAX_COORDINATOR_ADDRESS; unset everywhere = one process).")
_NUM_PROCESSES = flags.DEFINE_integer(
    "num_processes", None, "Processes (hosts) of a multi-host run (else $ECGQ_NUM_PROCESSES).")
_PROCESS_ID = flags.DEFINE_integer(
    "process_id", None, "This process's rank in [0, num_processes) (else $ECGQ_PROCESS_ID).")
_DISTRIBUTED = flags.DEFINE_boolean(
    "distributed", False, "Call jax.distributed.initialize even without the settings above, letting JAX "
    "detect them (SLURM, Open MPI, Cloud TPU).")


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def _config_argument(argv: list[str]) -> str:
    """The value given to --config on the command line (or the default)."""
    for index, arg in enumerate(argv):
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
    return DEFAULT_CONFIG


def _load_config(spec: str):
    """The experiment file's config for its preset, before any --config.<field> flag."""
    path, _, preset = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("_ecgq_config", path)
    if module_spec is None or not os.path.isfile(path):
        _fail(f"--config={spec}: no config file at {path!r}.")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.get_config(preset or None)


def _parse_flags(argv: list[str]) -> list[str]:
    """absl flag parsing, with a bad ``--config.<field>`` reported as one line (exit status 2)."""
    from ecgq.errors import UserError

    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        _fail(str(error).splitlines()[0])
    except (AttributeError, KeyError) as error:
        _fail(f"{_bad_field(argv, error)}: this config has no such field "
              "(python launch.py --config=... --helpfull lists the fields).")
    except (UserError, TypeError, ValueError) as error:
        _fail(f"{_bad_field(argv, error)}: {error}")


def _bad_field(argv: list[str], error: Exception) -> str:
    """The --config.<field> flag an override error is about (the one naming the missing key)."""
    overrides = [a.split("=", 1)[0] for a in argv[1:] if a.startswith("--config.")]
    key = str(error.args[0]) if error.args else ""
    return next((f for f in overrides if f.split(".")[-1] == key.strip("'\"")), None) or \
        (overrides[-1] if overrides else "--config")


def _document_config_fields(argv: list[str]) -> None:
    """Make --help/--helpfull list every field of the chosen config with its documentation."""
    if not any(arg in ("--help", "--helpfull", "-?", "--helpshort") for arg in argv):
        return
    from ecgq.studies.help import help_text

    flags.FLAGS["config"].help += "\n" + help_text(_load_config(_config_argument(argv)))


def _default_workdir(spec: str) -> str:
    path, _, preset = spec.partition(":")
    name = os.path.splitext(os.path.basename(path))[0] + (f"_{preset}" if preset else "")
    return os.path.join("runs", name)


def distributed_settings():
    """The launch's ``jax.distributed`` settings from flags and environment (``None``: one process)."""
    from ecgq.train.distributed import settings_from

    return settings_from({"coordinator_address": _COORDINATOR.value, "num_processes": _NUM_PROCESSES.value,
                          "process_id": _PROCESS_ID.value}, os.environ, auto=_DISTRIBUTED.value)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from ecgq import studies
    from ecgq.errors import UserError
    from ecgq.train import distributed

    spec = _config_argument(sys.argv)
    workdir = _WORKDIR.value or _default_workdir(spec)
    try:
        distributed.initialize(distributed_settings())  # before anything touches a device
        config = studies.prepare(_load_config(spec), _CONFIG.value)
        logging.info("Study %s, workdir %s", config.study, workdir)
        studies.run(config, workdir)
    except UserError as error:
        _fail(str(error))


if __name__ == "__main__":
    _document_config_fields(sys.argv)
    app.run(main, flags_parser=_parse_flags)
