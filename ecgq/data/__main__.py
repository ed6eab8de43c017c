"""``python -m ecgq.data --dataset=NAME --data_dir=DIR [--task=T] [--json]``: summarise a dataset.

Exits non-zero with a one-line message on bad input or when any patient (or record, where patients
are unknown) appears in two splits.
"""

from __future__ import annotations

import argparse
import json
import sys

from ecgq.data.config import DATASETS, data_config
from ecgq.data.errors import DataError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ecgq.data", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", required=True, help=f"one of {list(DATASETS)}")
    p.add_argument("--data_dir", default="", help="raw data folder ('' = $ECGQ_DATA/<default>)")
    p.add_argument("--task", default="", help="task name ('' = the dataset's default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no_cache", action="store_true", help="rebuild without reading/writing the cache")
    p.add_argument("--cache_dir", default="", help="cache folder ('' = $ECGQ_CACHE or ~/.cache/ecgq)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from ecgq.data.registry import load_splits
    from ecgq.data.summary import check_disjoint, format_text, summarize

    try:
        cfg = data_config(args.dataset)
        cfg.data_dir = args.data_dir
        if args.task:
            cfg.task = args.task
        cfg.cache = not args.no_cache
        cfg.cache_dir = args.cache_dir
        splits = load_splits(cfg)
        check_disjoint(splits)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = summarize(splits)
    print(json.dumps(summary) if args.json else format_text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
