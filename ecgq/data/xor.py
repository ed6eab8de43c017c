"""Extended multi-class XOR: a deterministic, non-linearly-separable toy problem (no download).

Why: classical-to-quantum distillation (Piperno et al. 2024) is studied on an extended, multi-class
XOR problem, small enough that a ~74-parameter variational circuit can learn it and hard enough
that no linear model can. Here it runs through the same data contract as the ECG datasets, so the
distillation study trains on it unchanged.

Definition (``cfg.xor``: ``n_dims`` = d, ``n_groups`` = G, ``n_levels`` = L):

* points ``x`` are uniform in ``[-1, 1]^d``;
* the coordinates are split into G contiguous groups of near-equal size (each of at least two
  coordinates, ``np.array_split(range(d), G)``);
* level 0 is the point itself, ``z^(0) = x``; level l + 1 folds every coordinate onto itself,
  ``z^(l+1) = 2 |z^(l)| - 1`` (the tent map: the sign of ``z^(1)`` says whether ``|x| > 1/2``);
* bit ``(l, g)`` is the parity (XOR) of the signs of group g at level l:
  ``b = XOR_{i in g} [z^(l)_i > 0]``;
* the class is the binary number of these bits, ``y = sum_{l, g} b(l, g) * 2^(l * G + g)``, so there
  are ``2^(L * G)`` classes, all equally likely.

The base case (d = 2, G = 1, L = 2) has 4 classes: bit 0 is the classic XOR of the two signs (the
quadrant pattern: equal signs vs different signs), bit 1 the same XOR of "outside the centre
square" (``|x_i| > 1/2``). A labelling with one class per quadrant would not do: multinomial
logistic regression separates the four quadrants exactly. Here every class distribution is
unchanged by ``x -> -x`` (each bit is a parity over a group of at least two signs, or of folded
coordinates, which ignore signs), so every class has mean zero and a linear model stays near chance;
a nearest-neighbour classifier or a small MLP solves it. ``n_dims`` and ``n_groups`` add parity
groups (more classes), ``n_levels`` finer checkerboards.

Noise, applied to every split alike: with probability ``label_noise`` a label is replaced by one of
the *other* classes drawn uniformly (so exactly that fraction is wrong in expectation), and
``input_noise`` adds Gaussian noise of that standard deviation to the inputs after labelling (the
labels stay those of the clean points).

Arrays: ``x`` is ``(n, d, 1)`` (the coordinates as a d-sample, one-lead "window", which is what
every model of the study engine receives), ``y`` int32. Each point is its own patient and record
(``xor-<split>-<i>``), so the splits are disjoint by construction. Split ``k`` (train, val, test)
is drawn from ``numpy.random.default_rng([seed, k])``: the same config gives the same arrays, and
growing one split leaves the others unchanged.
"""

from __future__ import annotations

import numpy as np

from ecgq.data.errors import DataError
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.types import DatasetInfo, Splits, make_split

MAX_BITS = 6  # at most 64 classes: beyond that a few thousand points cannot cover the cells
SPLIT_NAMES = ("train", "val", "test")


def groups(n_dims: int, n_groups: int) -> list[np.ndarray]:
    """Coordinate indices of each parity group: contiguous, near-equal, in order."""
    return np.array_split(np.arange(n_dims), n_groups)


def n_classes(xcfg) -> int:
    return 2 ** (int(xcfg.n_levels) * int(xcfg.n_groups))


def class_names(xcfg) -> tuple[str, ...]:
    """``c<k>``: class k, whose bit ``l * n_groups + g`` is the parity of group g at level l."""
    return tuple(f"c{k}" for k in range(n_classes(xcfg)))


def label_points(x: np.ndarray, n_groups: int, n_levels: int) -> np.ndarray:
    """The class of each clean point ``x`` ``(n, d)`` (see the module docstring), int32 ``(n,)``."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2:
        raise ValueError(f"label_points takes points (n, d), got shape {x.shape}")
    parts = groups(x.shape[1], int(n_groups))
    label = np.zeros(len(x), np.int64)
    z = x
    for level in range(int(n_levels)):
        positive = z > 0
        for g, idx in enumerate(parts):
            bit = np.bitwise_xor.reduce(positive[:, idx], axis=1).astype(np.int64)
            label |= bit << (level * len(parts) + g)
        z = 2.0 * np.abs(z) - 1.0
    return label.astype(np.int32)


def check(xcfg) -> None:
    """Refuse settings that are not an XOR problem, naming the flag (milliseconds, no data)."""
    where = "--config.data.xor"
    d, g, levels = int(xcfg.n_dims), int(xcfg.n_groups), int(xcfg.n_levels)
    if d < 2:
        raise DataError(f"{where}.n_dims={d}: an XOR needs at least 2 coordinates.")
    if not 1 <= g <= d // 2:
        raise DataError(f"{where}.n_groups={g}: each parity group needs at least 2 of the n_dims={d} "
                        f"coordinates (a single sign is linearly separable); choose 1..{d // 2}.")
    if levels < 1 or levels * g > MAX_BITS:
        raise DataError(f"{where}.n_levels={levels}: n_levels * n_groups bits must be in 1..{MAX_BITS} "
                        f"(2**bits classes; n_groups={g}).")
    for field in ("n_train", "n_val", "n_test"):
        if int(xcfg[field]) < 1:
            raise DataError(f"{where}.{field} must be >= 1, got {xcfg[field]}.")
    if not 0.0 <= float(xcfg.label_noise) < 1.0:
        raise DataError(f"{where}.label_noise must be in [0, 1), got {xcfg.label_noise}.")
    if float(xcfg.input_noise) < 0.0:
        raise DataError(f"{where}.input_noise must be >= 0, got {xcfg.input_noise}.")


def generate(rng: np.random.Generator, n: int, xcfg) -> tuple[np.ndarray, np.ndarray]:
    """``(x (n, d), y (n,))`` of one split: clean labels, then label noise, then input noise."""
    d, k = int(xcfg.n_dims), n_classes(xcfg)
    clean = rng.uniform(-1.0, 1.0, size=(n, d))
    y = label_points(clean, int(xcfg.n_groups), int(xcfg.n_levels))
    flip = rng.random(n) < float(xcfg.label_noise)
    # Another class, uniformly: add 1..k-1 modulo k.
    y = np.where(flip, (y + rng.integers(1, k, size=n)) % k, y).astype(np.int32)
    x = clean + float(xcfg.input_noise) * rng.standard_normal((n, d))
    return x, y


def load(cfg) -> Splits:
    """Train/val/test of the configured XOR problem; the same config gives the same arrays."""
    xcfg = cfg.xor
    check(xcfg)
    splits = {}
    for index, name in enumerate(SPLIT_NAMES):
        rng = np.random.default_rng([int(xcfg.seed), index])
        x, y = generate(rng, int(xcfg[f"n_{name}"]), xcfg)
        ids = np.array([f"xor-{name}-{i}" for i in range(len(y))])
        splits[name] = make_split(x[:, :, None], y, ids, ids)
    info = DatasetInfo(name="xor", task=cfg.task, class_names=class_names(xcfg), multilabel=False,
                       sampling_rate=0.0, lead_names=("xor",), dropped={k: {} for k in splits})
    return Splits(info=info, **splits)


DATASETS.register(DatasetSpec(
    name="xor",
    description="Extended multi-class XOR: parities of sign groups at several scales, uniform in [-1,1]^d; offline",
    tasks=("multiclass",),
    build=lambda cfg, _data_dir: load(cfg),
    fields={"xor": {"n_train": 2000, "n_val": 500, "n_test": 1000, "n_dims": 2, "n_groups": 1,
                    "n_levels": 2, "label_noise": 0.0, "input_noise": 0.0, "seed": 0}},
    docs={
        "xor.n_train": "Number of training points.",
        "xor.n_val": "Number of validation points.",
        "xor.n_test": "Number of test points.",
        "xor.n_dims": "Dimension d of the points (uniform in [-1, 1]^d); the models see them as (d, 1) windows.",
        "xor.n_groups": "Parity groups the coordinates are split into (contiguous, >= 2 coordinates each); "
                        "one class bit per group and level.",
        "xor.n_levels": "Scales: level l + 1 folds each coordinate (z -> 2|z| - 1) and adds one parity bit per "
                        "group; 2 ** (n_levels * n_groups) classes.",
        "xor.label_noise": "Probability that a label is replaced by another class (uniform over the others).",
        "xor.input_noise": "Standard deviation of Gaussian noise added to the inputs after labelling.",
        "xor.seed": "Generator seed (same seed and config -> identical arrays).",
    },
    defaults={"bandpass": False, "notch_hz": 0.0, "normalize": "none"},
    needs_data_dir=False,
))
