"""``python -m ecgq.export --workdir=W --model=NAME --out_dir=D``: artefacts of a trained model.

Writes ``D`` with the model's inference function as a ``jax.export`` StableHLO artefact, its
weights, and for a quantum student its circuit in OpenQASM 3 with the classical pre- and
post-processing (:mod:`ecgq.studies.export`); each artefact is reloaded and checked against the JAX
model on real test windows before ``D`` appears. ``--seed`` / ``--kd`` / ``--temperature`` /
``--alpha`` choose the member (default: the study's first seed without KD).
"""

from __future__ import annotations

import argparse
import json
import sys

from ecgq.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgq.export", description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="a finished distillation study's workdir")
    parser.add_argument("--model", required=True, help="the teacher or a student of that study")
    parser.add_argument("--out_dir", required=True, help="folder to create with the artefacts")
    parser.add_argument("--seed", type=int, default=None, help="member seed (default: the study's first)")
    parser.add_argument("--kd", action="store_true", help="the KD member (with --temperature and --alpha)")
    parser.add_argument("--temperature", type=float, default=None, help="KD temperature of the member")
    parser.add_argument("--alpha", type=float, default=None, help="KD alpha of the member")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="largest allowed round-trip difference")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out_dir")
    args = parser.parse_args(argv)
    if args.kd and (args.temperature is None or args.alpha is None):
        print("error: --kd needs --temperature and --alpha (the member's KD setting)", file=sys.stderr)
        return 2
    from ecgq.studies.export import export

    try:
        record = export(args.workdir, args.model, args.out_dir, seed=args.seed, kd=args.kd,
                        temperature=args.temperature, alpha=args.alpha, tolerance=args.tolerance,
                        overwrite=args.overwrite)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"out_dir": args.out_dir, **record}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
