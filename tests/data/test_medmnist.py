"""The MedMNIST loader: the official files as they are (splits, counts, grey, binary), synthetic RGB
multi-class and multi-label files of another size (nothing assumes grey, binary or 28 px), and one
clear DataError for each kind of bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from ecgq.data import DataError, check_data_config, data_config, load_splits

SPLIT_SIZES = {"train": 30, "val": 10, "test": 12}


def _cfg(data_dir, subset, **fields):
    cfg = data_config("medmnist")
    cfg.data_dir, cfg.subset, cfg.cache = str(data_dir), subset, False
    cfg.update(fields)
    return cfg


def _write(path, images_shape, labels_fn, seed=0, **replace):
    """An official-layout .npz: uint8 images of ``images_shape`` (per example) and labels_fn(rng, n)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SPLIT_SIZES.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *images_shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = labels_fn(rng, n)
    arrays.update(replace)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return arrays


@pytest.mark.parametrize("subset, sizes", [("breastmnist", (546, 78, 156)), ("pneumoniamnist", (4708, 524, 624))])
def test_the_official_files_load_on_their_own_splits(medmnist_dir, subset, sizes):
    cfg = _cfg(medmnist_dir, subset)
    check_data_config(cfg)
    splits = load_splits(cfg)
    raw = np.load(medmnist_dir / f"{subset}.npz")
    assert tuple(len(s) for _, s in splits.items()) == sizes
    assert splits.info.class_names == ("0", "1") and not splits.info.multilabel
    assert splits.info.lead_names == ("grey",)
    for name, split in splits.items():
        assert split.x.shape[1:] == (28, 28, 1) and split.x.dtype == np.float32
        np.testing.assert_allclose(split.x[..., 0] * 255.0, raw[f"{name}_images"], atol=1e-3)  # same order, no re-split
        np.testing.assert_array_equal(split.y, raw[f"{name}_labels"][:, 0])
    assert len(set(splits.train.record) & set(splits.test.record)) == 0


def test_rgb_multiclass_of_another_size(tmp_path):
    raw = _write(tmp_path / "bloodmnist_64.npz", (64, 64, 3), lambda rng, n: rng.integers(0, 5, (n, 1)))
    raw["train_labels"][0, 0] = 7  # the largest label anywhere sets the number of classes
    np.savez(tmp_path / "bloodmnist_64.npz", **raw)
    splits = load_splits(_cfg(tmp_path, "bloodmnist", medmnist_size=64))
    assert splits.train.x.shape == (30, 64, 64, 3)
    assert splits.info.lead_names == ("red", "green", "blue")
    assert splits.info.class_names == tuple(str(k) for k in range(8))
    assert splits.train.y.dtype == np.int32 and splits.train.y[0] == 7
    assert 0.0 <= splits.test.x.min() and splits.test.x.max() <= 1.0

    z = load_splits(_cfg(tmp_path, "bloodmnist", medmnist_size=64, normalize="window")).val.x
    np.testing.assert_allclose(z.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_multilabel_files_become_multi_hot(tmp_path):
    _write(tmp_path / "chestmnist.npz", (32, 32), lambda rng, n: rng.integers(0, 2, (n, 4)).astype(np.uint8))
    splits = load_splits(_cfg(tmp_path, "chestmnist"))
    assert splits.info.multilabel and splits.info.class_names == ("label0", "label1", "label2", "label3")
    assert splits.train.y.shape == (30, 4) and splits.train.y.dtype == np.float32
    assert splits.train.x.shape == (30, 32, 32, 1)


def test_missing_file_and_unknown_subset_name_the_flags(tmp_path, medmnist_dir):
    with pytest.raises(DataError, match=r"subset='tissuemnist'.*breastmnist.npz.*download=True"):
        check_data_config(_cfg(medmnist_dir, "tissuemnist"))
    with pytest.raises(DataError, match=r"'breastmnst' is not a MedMNIST 2-D set"):
        check_data_config(_cfg(medmnist_dir, "breastmnst"))
    with pytest.raises(DataError, match=r"data.subset is empty"):
        check_data_config(_cfg(medmnist_dir, ""))
    with pytest.raises(DataError, match=r"medmnist_size=32"):
        check_data_config(_cfg(medmnist_dir, "breastmnist", medmnist_size=32))
    with pytest.raises(DataError, match=r"does not exist"):
        check_data_config(_cfg(tmp_path / "nowhere", "breastmnist"))


def test_wrong_keys_and_shapes_are_refused(tmp_path):
    _write(tmp_path / "a.npz", (28, 28), lambda rng, n: rng.integers(0, 2, (n, 1)), val_labels=None)
    with pytest.raises(DataError, match=r"lacks \['val_labels'\]"):
        load_splits(_cfg(tmp_path, "a"))
    _write(tmp_path / "b.npz", (28, 28), lambda rng, n: rng.integers(0, 2, (n, 1)),
           test_images=np.zeros((12, 32, 32), np.uint8))
    with pytest.raises(DataError, match=r"differ in image size"):
        load_splits(_cfg(tmp_path, "b"))
    (tmp_path / "c.npz").write_text("not a zip")
    with pytest.raises(DataError, match=r"cannot read"):
        load_splits(_cfg(tmp_path, "c"))


def test_download_without_the_package_says_how(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "medmnist", None)  # import medmnist -> ImportError
    cfg = _cfg(tmp_path, "breastmnist", download=True)
    check_data_config(cfg)  # a missing file is fine when it will be downloaded
    with pytest.raises(DataError, match=r"pip install medmnist"):
        load_splits(cfg)
