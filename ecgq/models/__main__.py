"""Summary of one model: ``python -m ecgq.models --model=NAME [--input_shape=T,L] [--n_outputs=K] --json``.

Prints parameter counts (classical / quantum), FLOPs per sample (XLA cost analysis), the output
shape and CPU latency per sample at each batch size, e.g. for the results tables and the README.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp

from ecgq import profiling
from ecgq.models import config, registry


def summarize(name: str, input_shape: tuple[int, ...], n_outputs: int,
              batch_sizes: tuple[int, ...] = (1, 256), seed: int = 0) -> dict:
    """The summary record of model ``name`` with default config on inputs ``(batch, *input_shape)``."""
    module = registry.build_model(name, config.model_config(name), n_outputs)
    x = jnp.zeros((1, *input_shape), jnp.float32)
    variables = jax.jit(module.init)(jax.random.key(seed), x)
    apply = lambda v, x: module.apply(v, x)  # noqa: E731  (inference mode: train=False)
    counts = registry.count_params(variables)
    return {
        "model": name,
        "input_shape": list(input_shape),
        "classical_params": counts["classical"],
        "quantum_params": counts["quantum"],
        "flops": profiling.count_flops(apply, variables, x),
        "output_shape": list(jax.eval_shape(apply, variables, x).shape),
        "latency_ms": {str(b): ms for b, ms in
                       profiling.measure_latency(apply, variables, input_shape, batch_sizes).items()},
    }


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ecgq.models", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=registry.MODEL_NAMES)
    parser.add_argument("--input_shape", type=_ints, default=None,
                        help="T,L (time, leads); default per model, e.g. 5000,12 for ecgfounder")
    parser.add_argument("--n_outputs", type=int, default=None,
                        help="number of logits; default 150 for ecgfounder, 2 otherwise")
    parser.add_argument("--batch_sizes", type=_ints, default=(1, 256),
                        help="batch sizes for the latency measurement")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    shape = args.input_shape or registry.DEFAULT_INPUT_SHAPES[args.model]
    n_outputs = args.n_outputs or registry.DEFAULT_N_OUTPUTS.get(args.model, 2)
    summary = summarize(args.model, tuple(shape), n_outputs, tuple(args.batch_sizes))
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>17}: {value}")


if __name__ == "__main__":
    main()
