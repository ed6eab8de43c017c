"""``python -m ecgq.data --list [--json]`` or ``--dataset=NAME --data_dir=DIR [--task=T] [--json]``.

``--list`` prints every registered dataset with its tasks; ``--dataset`` loads one and prints its
per-split summary. Exits with status 2 and a one-line message on bad input or when any patient
(or record, where patients are unknown) appears in two splits.
"""

from __future__ import annotations

import argparse
import json
import sys

from ecgq.data.errors import DataError


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ecgq.data", description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="list the registered datasets and their tasks")
    p.add_argument("--dataset", default="", help="a registered dataset name (see --list)")
    p.add_argument("--data_dir", default="", help="raw data folder ('' = $ECGQ_DATA/<default>)")
    p.add_argument("--task", default="", help="task name ('' = the dataset's default)")
    p.add_argument("--subset", default="", help="medmnist: the file stem in data_dir (breastmnist, ...)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no_cache", action="store_true", help="rebuild without reading/writing the cache")
    p.add_argument("--cache_dir", default="", help="cache folder ('' = $ECGQ_CACHE or ~/.cache/ecgq)")
    p.add_argument("--skip_bad_records", action="store_true",
                   help="skip (and name) unreadable or unusable records instead of failing")
    return p.parse_args(argv)


def registered() -> list[dict]:
    """Name, tasks (the first is the default) and description of every registered dataset."""
    from ecgq.data.registry import DATASETS

    return [{"name": s.name, "tasks": list(s.tasks), "description": s.description,
             "needs_data_dir": s.needs_data_dir} for s in DATASETS.entries()]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        from ecgq.registry import print_listing

        print_listing(registered(), args.json, {"name": 14, "tasks": 26, "description": 0})
        return 0
    if not args.dataset:
        print("error: give --dataset=NAME (python -m ecgq.data --list shows the names) or --list",
              file=sys.stderr)
        return 2
    from ecgq.data.config import data_config
    from ecgq.data.registry import load_splits
    from ecgq.data.summary import check_disjoint, format_text, summarize

    try:
        cfg = data_config(args.dataset)
        cfg.data_dir = args.data_dir
        if args.task:
            cfg.task = args.task
        if args.subset:
            cfg.subset = args.subset
        cfg.cache = not args.no_cache
        cfg.cache_dir = args.cache_dir
        cfg.skip_bad_records = args.skip_bad_records
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
