"""MedMNIST v2 2-D images (Yang et al., Scientific Data 10:41, 2023) as Splits, on the official splits.

Why: the quantum vision transformer study (Boucher & Mazomenos, arXiv 2503.07294) compares QViT and
ViT on MedMNIST; the same engine that distils ECG models must read these files unchanged.

``data.data_dir`` is the folder that holds the file (or the ``.npz`` itself); ``data.subset`` picks
``<subset>.npz`` (28 px) or ``<subset>_<size>.npz`` (``data.medmnist_size`` = 64, 128, 224), the
names the ``medmnist`` package downloads. With ``data.download=True`` a missing file is fetched by
that package (``pip install medmnist``; needs network) into ``data_dir``.

The official layout: ``{train,val,test}_images`` uint8 ``(N, H, W)`` (grey) or ``(N, H, W, 3)``
(RGB), ``{train,val,test}_labels`` ``(N, 1)`` class indices (binary, multi-class, ordinal) or
``(N, K)`` 0/1 (multi-label, e.g. ChestMNIST). Nothing here assumes grey-scale, two classes or
28 px: images become float32 ``(N, H, W, C)`` channels-last in [0, 1] (``normalize='window'``:
z-scored per image and channel), single labels int32 class indices (the number of classes is the
largest label + 1 over all splits; ordinal sets are scored as multi-class), multi-label ones
float32 multi-hot with ``DatasetInfo.multilabel``. MedMNIST ships no patient ids: each image is its
own record (``<split>-<i>``); the official splits are the source datasets' own (patient-level where
the source had patients), never re-drawn here.
"""

from __future__ import annotations

import glob
import os
import zipfile

import numpy as np

from ecgq.data.errors import DataError
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.types import DatasetInfo, Splits, make_split

SPLITS = ("train", "val", "test")
SIZES = (28, 64, 128, 224)
# The 2-D MedMNIST v2 sets (medmnist.INFO); a file of another name in data_dir loads as well.
KNOWN = ("pathmnist", "chestmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist", "breastmnist",
         "bloodmnist", "tissuemnist", "organamnist", "organcmnist", "organsmnist")
LAYOUT = "keys train_images, train_labels, val_images, val_labels, test_images, test_labels"


def file_name(cfg) -> str:
    subset, size = str(cfg.subset).strip().lower(), int(cfg.medmnist_size)
    return f"{subset}.npz" if size == 28 else f"{subset}_{size}.npz"


def npz_path(cfg, data_dir: str) -> str:
    """The file of ``data.subset`` in ``data_dir`` (or ``data_dir`` itself when it is a .npz)."""
    if data_dir.endswith(".npz"):
        return data_dir
    if not str(cfg.subset).strip():
        raise DataError(f"medmnist: --config.data.subset is empty; name the MedMNIST file in {data_dir!r} "
                        f"(e.g. breastmnist for breastmnist.npz; known 2-D sets: {', '.join(KNOWN)}).")
    if int(cfg.medmnist_size) not in SIZES:
        raise DataError(f"medmnist: --config.data.medmnist_size={cfg.medmnist_size} is not a MedMNIST size; "
                        f"choose one of {list(SIZES)}.")
    return os.path.join(data_dir, file_name(cfg))


def _missing(cfg, path: str) -> DataError:
    folder = os.path.dirname(path)
    present = sorted(os.path.basename(p) for p in glob.glob(os.path.join(glob.escape(folder), "*.npz")))
    subset = str(cfg.subset).strip().lower()
    known = "" if subset in KNOWN or path.endswith(".npz") and not subset else (
        f" {subset!r} is not a MedMNIST 2-D set (known: {', '.join(KNOWN)}).")
    return DataError(f"medmnist: no file {path!r} (--config.data.subset={cfg.subset!r}, "
                     f"--config.data.data_dir={cfg.data_dir!r}).{known} That folder holds "
                     f"{present or 'no .npz file'}; fix data.subset / data.data_dir, or set "
                     "--config.data.download=True (pip install medmnist; needs network).")


def check(cfg, data_dir: str) -> None:
    """Cheap pre-flight: the file exists (or will be downloaded) and normalize is understood."""
    path = npz_path(cfg, data_dir)
    if cfg.normalize not in ("none", "window", "record"):
        raise DataError(f"medmnist: --config.data.normalize={cfg.normalize!r}; choose 'none' (pixels in [0, 1]) "
                        "or 'window' (z-score per image and channel).")
    if not os.path.isfile(path) and not cfg.download:
        raise _missing(cfg, path)


def download(cfg, data_dir: str) -> None:
    """Fetch the file with the ``medmnist`` package (its own checksum) unless it is there already."""
    path = npz_path(cfg, data_dir)
    if os.path.isfile(path):
        return
    subset = str(cfg.subset).strip().lower()
    try:
        import medmnist
    except ImportError:
        raise DataError("medmnist: --config.data.download=True needs the medmnist package "
                        "(pip install medmnist), or put the .npz into data.data_dir by hand.") from None
    if subset not in medmnist.INFO:
        raise DataError(f"medmnist: --config.data.subset={subset!r} is not a MedMNIST dataset; choose one of "
                        f"{sorted(k for k in medmnist.INFO if not k.endswith('3d'))}.")
    os.makedirs(data_dir, exist_ok=True)
    size = int(cfg.medmnist_size)
    kwargs = {} if size == 28 else {"size": size}
    getattr(medmnist, medmnist.INFO[subset]["python_class"])(split="train", download=True, root=data_dir, **kwargs)
    if not os.path.isfile(path):
        raise DataError(f"medmnist: the download left no {path!r}; check the network and the medmnist version.")


def read(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{split: (images, labels)} of an official MedMNIST file, its shapes checked."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"medmnist: cannot read {path!r} as a .npz file ({error}); a MedMNIST file has {LAYOUT}.") from None
    with z:
        missing = [f"{s}_{k}" for s in SPLITS for k in ("images", "labels") if f"{s}_{k}" not in z.files]
        if missing:
            raise DataError(f"medmnist: {path} lacks {missing} (it has {sorted(z.files)}); a MedMNIST file has {LAYOUT}.")
        out = {s: (z[f"{s}_images"], z[f"{s}_labels"]) for s in SPLITS}
    shapes = set()
    for s, (images, labels) in out.items():
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
            raise DataError(f"medmnist: {path}: {s}_images has shape {images.shape}; expected (N, H, W) or (N, H, W, 3).")
        labels = labels.reshape(len(labels), -1) if labels.ndim != 2 else labels
        if len(labels) != len(images):
            raise DataError(f"medmnist: {path}: {s}_labels has {len(labels)} rows for {len(images)} images.")
        shapes.add((images.shape[1:3], images.shape[3] if images.ndim == 4 else 1, labels.shape[1]))
        out[s] = (images, labels)
    if len(shapes) > 1:
        raise DataError(f"medmnist: {path}: the splits differ in image size, channels or label width {sorted(shapes)}.")
    return out


def to_images(images: np.ndarray, normalize: str) -> np.ndarray:
    """uint8 (N, H, W[, C]) -> float32 (N, H, W, C) in [0, 1], or z-scored per image and channel."""
    x = images.astype(np.float32)
    x = x[..., None] if x.ndim == 3 else x
    x = x / 255.0 if images.dtype == np.uint8 else x
    if normalize in ("window", "record"):  # an image is its own record
        mean, std = x.mean(axis=(1, 2), keepdims=True), x.std(axis=(1, 2), keepdims=True)
        x = (x - mean) / np.maximum(std, 1e-6)
    return x.astype(np.float32)


def build(cfg, data_dir: str) -> Splits:
    path = npz_path(cfg, data_dir)
    check(cfg, data_dir)
    if not os.path.isfile(path):
        raise _missing(cfg, path)
    parts = read(path)
    width = parts["train"][1].shape[1]
    multilabel = width > 1
    if multilabel:
        values = np.unique(np.concatenate([lab for _, lab in parts.values()]))
        if not set(values.tolist()) <= {0, 1}:
            raise DataError(f"medmnist: {path}: {width} label columns with values {values[:10]}; multi-label "
                            "files hold 0/1 per label.")
        names = tuple(f"label{k}" for k in range(width))
    else:
        pooled = np.concatenate([lab[:, 0] for _, lab in parts.values()])
        if pooled.min() < 0:
            raise DataError(f"medmnist: {path}: negative class index {pooled.min()} in the labels.")
        names = tuple(str(k) for k in range(int(pooled.max()) + 1))
    splits = {}
    for s, (images, labels) in parts.items():
        ids = np.array([f"{s}-{i}" for i in range(len(images))])
        y = labels.astype(np.float32) if multilabel else labels[:, 0].astype(np.int32)
        splits[s] = make_split(to_images(images, cfg.normalize), y, ids, ids, multilabel=multilabel)
    channels = splits["train"].x.shape[-1]
    info = DatasetInfo(name="medmnist", task=cfg.task, class_names=names, multilabel=multilabel, sampling_rate=0.0,
                       lead_names=("grey",) if channels == 1 else ("red", "green", "blue"),
                       dropped={s: {} for s in SPLITS}, skipped={s: {} for s in SPLITS})
    return Splits(info=info, **splits)


DATASETS.register(DatasetSpec(
    name="medmnist",
    description="MedMNIST v2 2-D images (any of the 12 sets, 28-224 px, grey or RGB, binary / multi-class / "
                "multi-label) on the official splits; data.subset picks the file",
    tasks=("labels",),
    build=build,
    source_files=lambda cfg, data_dir: [npz_path(cfg, data_dir)],
    fields={"subset": "", "medmnist_size": 28},
    docs={
        "subset": "MedMNIST set = file stem in data_dir (breastmnist -> breastmnist.npz); any 2-D set, or your own "
                  "file in the official layout.",
        "medmnist_size": f"Image size of the file, one of {list(SIZES)} (28 -> <subset>.npz, else <subset>_<size>.npz).",
    },
    defaults={"bandpass": False, "notch_hz": 0.0, "normalize": "none"},
    check=check,
    download=download,
))
