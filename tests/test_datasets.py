"""Tests for lrfinder.datasets (the checks of (x, y) arrays are in test_validation.py).

Every IDX, npz and csv fixture is written by the tests into ``tmp_path``; the
real MNIST tests skip when the files are not on this machine.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import assert_one_line_error

from lrfinder import datasets as ds
from lrfinder.datasets import DATASETS, Dataset, _download, load_dataset, read_idx
from lrfinder.errors import LRFinderError

MNIST_NAMES = [f for f, _ in _download._IDX_SOURCES["mnist"].files]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --------------------------------------------------------------------------
# Tiny IDX fixtures
# --------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def tiny_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 3, 2), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_tiny_mnist(folder: Path, n_train: int = 12, n_test: int = 4) -> dict[str, str]:
    """Write the four IDX files; return {filename: sha256}."""
    folder.mkdir(parents=True, exist_ok=True)
    x_tr, y_tr = tiny_images(n_train, seed=1)
    x_te, y_te = tiny_images(n_test, seed=2)
    for name, arr in zip(MNIST_NAMES, (x_tr, y_tr, x_te, y_te), strict=True):
        write_idx(folder / name, arr)
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in MNIST_NAMES}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No LRFINDER_DATA and an empty cache under tmp_path."""
    monkeypatch.delenv(ds.DATA_ENV, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setattr(_download, "_cache_dir", lambda: cache)
    return cache


# --------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_digits_shapes_and_dtypes(digits):
    assert digits.x_train.shape == (1437, 64) and digits.x_test.shape == (360, 64)
    assert digits.y_train.shape == (1437,) and digits.y_test.shape == (360,)
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    assert digits.task == "classification" and digits.n_classes == 10
    assert digits.n_features == 64 and digits.n_outputs == 10 and digits.x_scale == 1.0
    assert set(np.unique(digits.y_train)) == set(range(10))


def test_digits_split_is_stratified(digits):
    train_share = np.bincount(digits.y_train) / len(digits.y_train)
    test_share = np.bincount(digits.y_test, minlength=10) / len(digits.y_test)
    assert (np.bincount(digits.y_test, minlength=10) > 0).all()
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_digits_is_deterministic_and_ignores_seed(digits):
    other = load_dataset("digits", seed=123)
    np.testing.assert_array_equal(digits.x_test, other.x_test)
    np.testing.assert_array_equal(digits.y_train, other.y_train)


def test_digits_n_samples_subsamples_train_only(digits):
    small = load_dataset("digits", n_samples=100, seed=1)
    assert small.x_train.shape == (100, 64)
    np.testing.assert_array_equal(small.x_test, digits.x_test)
    again = load_dataset("digits", n_samples=100, seed=1)
    np.testing.assert_array_equal(small.x_train, again.x_train)


@pytest.mark.parametrize("n_samples", [0, -3, 2.5, True, 1438])
def test_bad_n_samples(n_samples):
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("digits", n_samples=n_samples)
    assert_one_line_error(excinfo, "n_samples")


def test_import_does_not_load_heavy_packages():
    code = (
        "import sys, lrfinder.datasets; "
        "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# IDX parsing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["images-idx3-ubyte.gz", "images-idx3-ubyte"])
def test_read_idx_roundtrip_uint8(tmp_path, filename):
    images, _ = tiny_images(5)
    got = read_idx(write_idx(tmp_path / filename, images))
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_read_idx_multibyte_types_are_big_endian(tmp_path, dtype):
    arr = np.arange(-6, 6, dtype=dtype).reshape(3, 4) * 300
    got = read_idx(write_idx(tmp_path / "a.idx", arr))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, arr)


def test_read_idx_gzip_detected_by_content(tmp_path):
    images, _ = tiny_images(2)
    path = tmp_path / "images-idx3-ubyte"  # no .gz suffix, but gzip content
    path.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(path), images)


def _truncated_raw(path):
    path.write_bytes(idx_bytes(tiny_images(4)[0])[:-5])


def _truncated_gzip(path):
    path.write_bytes(gzip.compress(idx_bytes(tiny_images(4)[0]))[:-10])


def _extra_bytes(path):
    path.write_bytes(idx_bytes(tiny_images(4)[0]) + b"\x00\x00")


def _wrong_magic(path):
    path.write_bytes(b"\x12\x34\x08\x03" + idx_bytes(tiny_images(4)[0])[4:])


def _garbage_gz(path):
    path.write_bytes(b"<html>404 Not Found</html>")


def _empty(path):
    path.write_bytes(b"")


@pytest.mark.parametrize(
    ("writer", "filename", "needle"),
    [
        (_truncated_raw, "a-idx3-ubyte", "truncated"),
        (_truncated_gzip, "a-idx3-ubyte.gz", "gzip"),
        (_extra_bytes, "a-idx3-ubyte", "extra bytes"),
        (_wrong_magic, "a-idx3-ubyte", "magic"),
        (_garbage_gz, "a-idx3-ubyte.gz", "not a gzip file"),
        (_empty, "a-idx3-ubyte", "magic"),
    ],
)
def test_read_idx_bad_files(tmp_path, writer, filename, needle):
    path = tmp_path / filename
    writer(path)
    with pytest.raises(LRFinderError) as excinfo:
        read_idx(path)
    assert_one_line_error(excinfo, str(path), needle, "download it again")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(LRFinderError) as excinfo:
        read_idx(tmp_path / "nope.gz")
    assert_one_line_error(excinfo, "nope.gz", "does not exist")


def test_idx_dataset_loads_uint8_images(tmp_path, isolated):
    write_tiny_mnist(tmp_path / "d", n_train=12, n_test=4)
    data = load_dataset("mnist", tmp_path / "d", download=False)
    assert data.x_train.shape == (12, 6) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (4, 6) and data.y_train.dtype == np.int64
    assert data.x_scale == pytest.approx(1 / 255)
    x_tr, _ = tiny_images(12, seed=1)
    np.testing.assert_allclose(data.batch_x([0, 1]), x_tr[:2].reshape(2, 6) / 255.0, rtol=1e-6)
    assert data.batch_x(slice(None)).dtype == np.float32


def test_idx_count_mismatch(tmp_path, isolated):
    folder = tmp_path / "d"
    write_tiny_mnist(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist", folder, download=False)
    assert_one_line_error(excinfo, "12 images", "11 labels", "download them again")


def test_idx_images_and_labels_swapped(tmp_path, isolated):
    folder = tmp_path / "d"
    write_tiny_mnist(folder)
    labels = folder / "train-labels-idx1-ubyte.gz"
    images = folder / "train-images-idx3-ubyte.gz"
    labels.write_bytes(images.read_bytes())
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist", folder, download=False)
    assert_one_line_error(excinfo, str(labels), "2051", "2049")


def test_idx_label_out_of_range(tmp_path, isolated):
    folder = tmp_path / "d"
    write_tiny_mnist(folder, n_test=4)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist", folder, download=False)
    assert_one_line_error(excinfo, "t10k-labels-idx1-ubyte.gz", "label 12")


# --------------------------------------------------------------------------
# Where MNIST files are looked for, and downloading them
# --------------------------------------------------------------------------


def test_search_order(tmp_path, isolated, monkeypatch):
    write_tiny_mnist(tmp_path / "given", n_train=5)
    write_tiny_mnist(tmp_path / "parent" / "mnist", n_train=6)
    write_tiny_mnist(tmp_path / "env" / "mnist", n_train=7)
    write_tiny_mnist(isolated / "mnist", n_train=8)  # the (patched) cache
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env"))

    def n_train(data_dir):
        return load_dataset("mnist", data_dir, download=False).x_train.shape[0]

    assert n_train(tmp_path / "given") == 5
    assert n_train(str(tmp_path / "parent")) == 6  # data_dir/<name>/ also counts
    assert n_train(tmp_path / "empty") == 7  # data_dir without files: fall through
    assert n_train(None) == 7
    monkeypatch.delenv(ds.DATA_ENV)
    assert n_train(None) == 8


def test_download_false_names_files_and_folder(tmp_path, isolated):
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist", download=False)
    assert_one_line_error(
        excinfo, *MNIST_NAMES, str(isolated / "mnist"), "--data-dir", "LRFINDER_DATA"
    )


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local file:// mirror of tiny MNIST files, patched in as the only source."""
    hashes = write_tiny_mnist(tmp_path / "mirror", n_train=9)

    def use(mirrors, sha256=None):
        files = tuple((f, (sha256 or hashes)[f]) for f in MNIST_NAMES)
        monkeypatch.setitem(
            _download._IDX_SOURCES, "mnist", _download._IdxSource(tuple(mirrors), files)
        )

    use.url = (tmp_path / "mirror").as_uri() + "/"
    use.hashes = hashes
    return use


def test_download_into_cache_trying_mirrors_in_order(tmp_path, isolated, mirror, monkeypatch):
    dead = (tmp_path / "no-such-mirror").as_uri() + "/"
    mirror([dead, mirror.url])
    calls = []
    real_fetch = _download._fetch

    def recording_fetch(url, dest, sha256):
        calls.append(url)
        real_fetch(url, dest, sha256)

    monkeypatch.setattr(_download, "_fetch", recording_fetch)
    data = load_dataset("mnist")
    assert data.x_train.shape == (9, 6)
    assert sorted(p.name for p in (isolated / "mnist").iterdir()) == sorted(MNIST_NAMES)
    assert calls[:2] == [dead + MNIST_NAMES[0], mirror.url + MNIST_NAMES[0]]
    calls.clear()
    load_dataset("mnist")  # now found in the cache: nothing is fetched
    assert calls == []


def test_download_into_data_dir_when_given(tmp_path, isolated, mirror):
    mirror([mirror.url])
    load_dataset("mnist", tmp_path / "mine")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == sorted(MNIST_NAMES)
    assert not isolated.exists()


def test_checksum_mismatch_leaves_nothing_in_cache(isolated, mirror):
    mirror([mirror.url], sha256={f: "0" * 64 for f in MNIST_NAMES})
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist")
    assert_one_line_error(excinfo, "SHA-256", MNIST_NAMES[0], "discarded")
    assert list((isolated / "mnist").iterdir()) == []


def test_bad_mirror_falls_back_to_next(tmp_path, isolated, mirror):
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    for name in MNIST_NAMES:
        (bad / name).write_bytes(b"not the real file")
    mirror([bad.as_uri() + "/", mirror.url])
    assert load_dataset("mnist").x_train.shape == (9, 6)
    for name in MNIST_NAMES:
        digest = hashlib.sha256((isolated / "mnist" / name).read_bytes()).hexdigest()
        assert digest == mirror.hashes[name]


def test_offline_message(isolated, monkeypatch):
    def offline(url, dest, sha256):
        raise ConnectionError(f"Failed to resolve host for {url}")

    monkeypatch.setattr(_download, "_fetch", offline)
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("fashion-mnist")
    assert_one_line_error(
        excinfo,
        "offline",
        *MNIST_NAMES,
        str(isolated / "fashion-mnist"),
        "--data-dir",
        "LRFINDER_DATA",
    )
    assert list((isolated / "fashion-mnist").iterdir()) == []


def test_an_offline_download_prints_only_its_error(tmp_path):
    """No "Downloading data from ..." lines from pooch before the one-line error."""
    dead = (tmp_path / "no-such-mirror").as_uri() + "/"
    code = (
        "import sys\n"
        "from lrfinder.datasets import _download, load_dataset\n"
        "from lrfinder.errors import LRFinderError\n"
        "source = _download._IDX_SOURCES['mnist']\n"
        f"_download._IDX_SOURCES['mnist'] = _download._IdxSource(({dead!r},), source.files)\n"
        "try:\n"
        f"    load_dataset('mnist', {str(tmp_path / 'dl')!r})\n"
        "except LRFinderError as err:\n"
        "    print(err, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert "could not download mnist" in lines[0] and "offline" in lines[0]
    for needle in (*MNIST_NAMES, str(tmp_path / "dl"), "--data-dir", "LRFINDER_DATA"):
        assert needle in lines[0]


def test_pooch_would_log_a_download_line_that_lrfinder_silences(tmp_path, monkeypatch):
    """The test above is not vacuous: pooch itself logs before every download."""
    pooch = pytest.importorskip("pooch")
    import logging

    logger = pooch.get_logger()
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    monkeypatch.setattr(logger, "handlers", [handler])
    dead = (tmp_path / "gone.gz").as_uri()
    with pytest.raises(OSError):
        pooch.retrieve(dead, None, path=tmp_path, downloader=_download._copy_file_url)
    assert any("Downloading data from" in r for r in records)
    records.clear()
    with pytest.raises(OSError):
        _download._fetch(dead, tmp_path / "gone.gz", "0" * 64)
    assert records == []
    logger.info("after the attempt")  # pooch's logging is back as it was
    assert records == ["after the attempt"]


def test_unwritable_download_folder(tmp_path, isolated):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("mnist", blocker / "sub")
    assert_one_line_error(excinfo, str(blocker / "sub"), "writable")


def test_source_constants():
    for name in ("mnist", "fashion-mnist"):
        source = _download._IDX_SOURCES[name]
        assert [f for f, _ in source.files] == MNIST_NAMES
        assert all(len(h) == 64 and int(h, 16) >= 0 for _, h in source.files)
        assert all(m.endswith("/") for m in source.mirrors)


# --------------------------------------------------------------------------
# User files
# --------------------------------------------------------------------------


def test_npz_without_test_split(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), np.arange(50) % 3
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = load_dataset(tmp_path / "d.npz", seed=4)
    assert data.name == "d.npz" and data.task == "classification" and data.n_classes == 3
    assert data.x_train.shape == (40, 3) and data.x_test.shape == (10, 3)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    same = load_dataset(str(tmp_path / "d.npz"), seed=4)
    np.testing.assert_array_equal(data.x_test, same.x_test)
    other = load_dataset(tmp_path / "d.npz", seed=5)
    assert not np.array_equal(data.y_test, other.y_test)


def test_npz_with_test_split_and_uint8_images(tmp_path):
    x = np.arange(40, dtype=np.uint8).reshape(10, 4)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(10) % 2, x_test=x[:3], y_test=[0, 1, 1])
    data = load_dataset(tmp_path / "d.npz")
    assert data.x_train.dtype == np.uint8 and data.x_scale == pytest.approx(1 / 255)
    np.testing.assert_array_equal(data.x_test, x[:3])
    np.testing.assert_array_equal(data.y_test, [0, 1, 1])


@pytest.mark.parametrize("header", [True, False])
def test_csv(tmp_path, header):
    rows = [f"{i * 0.5},{-i},{i % 2}" for i in range(20)]
    text = ("a,b,label\n" if header else "") + "\n".join(rows) + "\n"
    (tmp_path / "d.csv").write_text(text)
    data = load_dataset(tmp_path / "d.csv")
    assert data.task == "classification" and data.n_classes == 2
    assert data.x_train.shape == (16, 2) and data.x_test.shape == (4, 2)
    all_x = np.concatenate([data.x_train, data.x_test])
    assert sorted(all_x[:, 0]) == [i * 0.5 for i in range(20)]


def test_csv_regression(tmp_path):
    (tmp_path / "r.csv").write_text("\n".join(f"{i},{i * 0.1 + 0.05}" for i in range(10)))
    data = load_dataset(tmp_path / "r.csv")
    assert data.task == "regression" and data.n_classes is None
    assert data.y_train.shape == (8, 1) and data.y_train.dtype == np.float32
    assert data.n_outputs == 1


def test_task_can_be_forced(tmp_path):
    (tmp_path / "r.csv").write_text("\n".join(f"{i},{i + 10}" for i in range(10)))
    data = load_dataset(tmp_path / "r.csv", task="regression")
    assert data.task == "regression"
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset(tmp_path / "r.csv")
    assert_one_line_error(excinfo, "r.csv", "0..k-1", "np.unique", "task='regression'")


def _save(path: Path, **arrays) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr)


X4 = np.arange(8.0).reshape(4, 2)


@pytest.mark.parametrize(
    ("filename", "make", "needles"),
    [
        ("missing.npz", None, ["does not exist"]),
        ("d.txt", lambda p: p.write_text("1,2\n"), [".npz", ".csv"]),
        ("d.npz", lambda p: p.write_bytes(b"PK\x03\x04 broken zip"), ["not a readable .npz"]),
        ("d.npz", lambda p: p.write_bytes(b"hello"), ["not a readable .npz"]),
        ("d.npz", lambda p: _save(p, x=X4), ["no array 'y'", "np.savez"]),
        ("d.npz", lambda p: _save(p, x=X4, y=[0, 1, 0, 1], x_test=X4), ["y_test"]),
        ("d.npz", lambda p: _save_npy(p, X4), [".npy", "np.savez"]),
        ("d.npz", lambda p: _save(p, x=X4, y=np.array(["a", "b", "a", "b"])), ["numeric"]),
        ("d.npz", lambda p: _save(p, x=X4, y=[0, 1, 0]), ["4 rows", "3"]),
        ("d.npz", lambda p: _save(p, x=np.array([[1], [None]]), y=[0, 1]), ["cannot be read"]),
        (
            "d.npz",
            lambda p: _save(p, x=X4, y=[0, 1, 0, 1], x_test=X4[:, :1], y_test=[0, 1, 0, 1]),
            ["x_test", "features"],
        ),
        (
            "d.npz",
            lambda p: _save(p, x=X4, y=[0, 1, 0, 1], x_test=X4, y_test=[0, 1, 2, 0]),
            ["y_test", "label 2"],
        ),
        ("d.csv", lambda p: p.write_text(""), ["empty"]),
        ("d.csv", lambda p: p.write_text("a,b,c\n"), ["no data rows"]),
        ("d.csv", lambda p: p.write_text("1,2,0\n3,x,1\n"), ["not a numeric CSV", "'x'"]),
        ("d.csv", lambda p: p.write_text("1,2,0\n3,4\n"), ["line 2 has 2 values", "same columns"]),
        ("d.csv", lambda p: p.write_text("1\n2\n"), ["label column"]),
        ("d.csv", lambda p: p.write_bytes(b"\xff\xfe\x00\x81garbage"), ["cannot be read"]),
    ],
)
def test_user_file_errors(tmp_path, filename, make, needles):
    path = tmp_path / filename
    if make is not None:
        make(path)
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset(path)
    assert_one_line_error(excinfo, str(path), *needles)


def test_folder_is_not_a_data_file(tmp_path):
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset(tmp_path)
    assert_one_line_error(excinfo, str(tmp_path), "folder")


def test_unknown_dataset_name():
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("cifar-10")
    assert_one_line_error(excinfo, "'cifar-10'", *DATASETS, ".npz", ".csv")


def test_task_for_builtin_must_match():
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("sine", task="classification")
    assert_one_line_error(excinfo, "'sine'", "regression")


# --------------------------------------------------------------------------
# Synthetic sets and the Dataset container
# --------------------------------------------------------------------------

SYNTHETIC = ["double-arc", "spiral", "moons", "sine"]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_shapes_and_determinism(name):
    data = load_dataset(name)
    width = 1 if name == "sine" else 2
    assert data.x_train.shape == (800, width) and data.x_test.shape == (200, width)
    assert data.x_train.dtype == np.float32
    if name == "sine":
        assert data.task == "regression" and data.y_train.shape == (800, 1)
        assert data.y_train.dtype == np.float32 and data.n_outputs == 1
    else:
        assert data.task == "classification" and data.n_classes == 2
        assert set(np.unique(data.y_test)) == {0, 1}
    again, other = load_dataset(name, seed=0), load_dataset(name, seed=1)
    np.testing.assert_array_equal(data.x_train, again.x_train)
    np.testing.assert_array_equal(data.y_test, again.y_test)
    assert not np.array_equal(data.x_train, other.x_train)
    assert load_dataset(name, n_samples=50).x_train.shape[0] == 40


def test_double_arc_geometry():
    data = load_dataset("double-arc", n_samples=4000)
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    assert x[:, 0].min() == pytest.approx(0.0) and x[:, 0].max() == pytest.approx(np.pi)
    gap = x[y == 1, 1].mean() - x[y == 0, 1].mean()
    assert gap == pytest.approx(ds.DOUBLE_ARC_OFFSET, abs=0.02)
    residual = x[:, 1] - np.sin(x[:, 0]) - ds.DOUBLE_ARC_OFFSET * y
    assert residual.std() == pytest.approx(ds.DOUBLE_ARC_NOISE, rel=0.1)


def test_sine_targets_follow_sine():
    data = load_dataset("sine", n_samples=2000)
    assert np.abs(data.x_train).max() <= np.pi
    residual = data.y_train - np.sin(data.x_train)
    assert residual.std() == pytest.approx(ds.SINE_NOISE, rel=0.1)


def test_synthetic_too_few_samples():
    with pytest.raises(LRFinderError) as excinfo:
        load_dataset("moons", n_samples=3)
    assert_one_line_error(excinfo, "n_samples=3", "'moons'")


def test_dataset_validates_task():
    with pytest.raises(LRFinderError):
        Dataset("d", X4, np.zeros(4), X4, np.zeros(4), "ranking", None)
    with pytest.raises(LRFinderError):
        Dataset("d", X4, np.zeros(4), X4, np.zeros(4), "classification", None)


# --------------------------------------------------------------------------
# Real MNIST (skipped when the files are not on this machine)
# --------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_MNIST = Path(os.environ.get("LRFINDER_TEST_MNIST", REPO_ROOT.parent / "shared/data/mnist"))


@pytest.fixture(scope="module")
def real_mnist():
    if not all((REAL_MNIST / f).is_file() for f in MNIST_NAMES):
        pytest.skip(f"real MNIST not found at {REAL_MNIST}; set LRFINDER_TEST_MNIST")
    return load_dataset("mnist", REAL_MNIST, download=False)


def test_real_mnist(real_mnist):
    assert real_mnist.x_train.shape == (60000, 784) and real_mnist.x_train.dtype == np.uint8
    assert real_mnist.x_test.shape == (10000, 784)
    assert np.bincount(real_mnist.y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(real_mnist.y_test).tolist() == MNIST_TEST_COUNTS
    assert real_mnist.x_train.mean() == pytest.approx(33.318, abs=1e-3)
    batch = real_mnist.batch_x(np.arange(100))
    assert batch.dtype == np.float32 and 0.0 <= batch.min() and batch.max() == 1.0
    assert real_mnist.n_features == 784 and real_mnist.n_outputs == 10
