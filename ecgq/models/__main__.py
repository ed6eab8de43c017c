"""``python -m ecgq.models --list [--json]`` or ``--model=NAME [--input_shape=T,L] [--n_outputs=K] [--json]``.

``--list`` prints every registered model (role, classical/quantum, description); ``--model``
prints its parameter counts (classical / quantum), FLOPs per sample (XLA cost analysis) and their
operation-count energy estimate, output shape and CPU latency per sample at each batch size, for the
results tables and the README. Models with an ``inspect`` hook add their own counts (spiking models:
1-bit and full-precision parameters in bits and bytes, spike rates, synaptic operations).
"""

from __future__ import annotations

import argparse
import json
import sys

from ecgq.errors import UserError


INSPECT_BATCH = 16


def registered() -> list[dict]:
    from ecgq.models.registry import MODELS

    return [{"name": s.name, "role": s.role, "family": s.family, "description": s.description,
             "default_input_shape": list(s.default_input_shape)} for s in MODELS.entries()]


def summarize(name: str, input_shape: tuple[int, ...], n_outputs: int,
              batch_sizes: tuple[int, ...] = (1, 256), seed: int = 0) -> dict:
    """The summary record of model ``name`` with default config on inputs ``(batch, *input_shape)``."""
    import jax
    import jax.numpy as jnp

    from ecgq.eval import profiling
    from ecgq.models.registry import count_params, create

    from ecgq.eval.op_energy import dense_operations
    from ecgq.models.registry import model_spec

    module, variables = create(name, input_shape=input_shape, n_outputs=n_outputs, seed=seed)
    x = jnp.zeros((1, *input_shape), jnp.float32)
    apply = lambda v, x: module.apply(v, x)  # noqa: E731  (inference mode: train=False)
    counts = count_params(variables)
    flops = profiling.count_flops(apply, variables, x)
    out = {
        "model": name,
        "input_shape": list(input_shape),
        "classical_params": counts["classical"],
        "quantum_params": counts["quantum"],
        "flops": flops,
        "operations": dense_operations(flops),
        "output_shape": list(jax.eval_shape(apply, variables, x).shape),
        "latency_ms": {str(b): ms for b, ms in
                       profiling.measure_latency(apply, variables, input_shape, batch_sizes).items()},
    }
    hook = model_spec(name).inspect
    if hook is not None:  # e.g. spiking models: their own counts (bits, spikes, synaptic operations)
        sample = jax.random.normal(jax.random.key(seed), (INSPECT_BATCH, *input_shape), jnp.float32)
        inspection = hook(module, variables, sample, None)
        out["dense_operations"] = out.pop("operations")
        out.update(inspection)
        out["inspection_input"] = (f"initial weights (seed {seed}) on {INSPECT_BATCH} standard-normal windows: "
                                   "spike rates and operations of a trained model differ (see a study's report)")
    return out


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    from ecgq.models.registry import MODELS

    parser = argparse.ArgumentParser(prog="python -m ecgq.models", description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the registered models")
    parser.add_argument("--model", default="", help="a registered model name (see --list)")
    parser.add_argument("--input_shape", type=_ints, default=None,
                        help="T,L (time, leads); default per model, e.g. 5000,12 for ecgfounder")
    parser.add_argument("--n_outputs", type=int, default=None,
                        help="number of logits; default 150 for ecgfounder, 2 otherwise")
    parser.add_argument("--batch_sizes", type=_ints, default=(1, 256),
                        help="batch sizes for the latency measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.list:
        from ecgq.registry import print_listing

        print_listing(registered(), args.json, {"name": 18, "role": 8, "family": 10, "description": 0})
        return 0
    try:
        spec = MODELS.get(args.model) if args.model else None
        if spec is None:
            raise UserError(f"give --model=NAME (one of {list(MODELS.names())}) or --list")
        shape = args.input_shape or spec.default_input_shape
        n_outputs = args.n_outputs or spec.default_n_outputs
        summary = summarize(spec.name, tuple(shape), n_outputs, tuple(args.batch_sizes))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>17}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
