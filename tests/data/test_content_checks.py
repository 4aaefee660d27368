"""Data sets are checked for content on load, not only for bytes.

A cache whose manifest checksums match (it was sealed with :func:`jaxnn.data.cache.seal`)
but whose contents are wrong — other shapes, float images, labels 0–255, missing Brown texts,
unknown BBC topics, a Rotten Tomatoes file without the two categories — is refused with an
error naming the data set and what is wrong. ``jaxnn fetch NAME --file/--wheel MISSING`` is a
clear error, not a ``FileNotFoundError``.
"""

from __future__ import annotations

import bz2
import csv
import io

import numpy as np
import pytest

from jaxnn import cli
from jaxnn.data import cache, corpora, mnist_cache
from jaxnn.errors import JaxnnError


def _mnist(root, **override):
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, 6, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 4, dtype=np.uint8)}
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    (root / "mnist").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(root / "mnist" / "mnist.npz", **arrays)
    cache.seal(root / "mnist", "mnist")
    return root


def test_good_fake_mnist_loads(tmp_path):
    ds = mnist_cache.mnist(directory=_mnist(tmp_path))
    assert ds.x_train.shape == (6, 784) and ds.y_test.shape == (4,)


BAD_MNIST = {
    "float-images": (dict(train_images=np.zeros((6, 28, 28), np.float32)), r"uint8"),
    "labels-0-255": (dict(train_labels=np.arange(200, 206).astype(np.uint8)),
                     r"train_labels holds \[200"),
    "other-shape": (dict(test_images=np.zeros((4, 32, 32), np.uint8)),
                    r"test_images has shape \(4, 32, 32\)"),
    "flat-images": (dict(train_images=np.zeros((6, 784), np.uint8)), r"train_images has shape"),
    "label-count": (dict(test_labels=np.zeros(3, np.uint8)), r"test_labels has shape \(3,\)"),
    "int64-labels": (dict(train_labels=np.zeros(6, np.int64)), r"uint8"),
    "empty": (dict(test_images=np.zeros((0, 28, 28), np.uint8),
                   test_labels=np.zeros(0, np.uint8)), r"N >= 1"),
    "array-missing": (dict(test_labels=None), r"test_labels"),
}


@pytest.mark.parametrize("case", BAD_MNIST, ids=list(BAD_MNIST))
def test_sealed_but_wrong_mnist_is_refused(tmp_path, case):
    override, match = BAD_MNIST[case]
    root = _mnist(tmp_path, **override)
    cache.require("mnist", root)  # the checksums match: only the contents are wrong
    with pytest.raises(JaxnnError, match=match) as info:
        mnist_cache.mnist(directory=root)
    assert any(s in str(info.value) for s in ("does not hold MNIST", "missing", "cannot be read"))
    assert "jaxnn fetch mnist" in str(info.value)


def _brown(root, files, cats):
    path = root / "brown"
    path.mkdir(parents=True)
    (path / "cats.txt").write_text(cats)
    for name, text in files.items():
        (path / name).write_text(text)
    cache.seal(path, "brown")
    return root


GOOD_BROWN = {"ca01": "\n\tThe/at jury/nn ./.\n", "cb02": "\n\tIt/pps ended/vbd\n"}


def test_good_fake_brown_loads(tmp_path):
    root = _brown(tmp_path, GOOD_BROWN, "ca01 news\ncb02 editorial\n")
    assert corpora.brown_words(root)[:2] == ["The", "jury"]


@pytest.mark.parametrize("files,cats,match", [
    (GOOD_BROWN, "ca01 news\ncb02 editorial\ncc03 reviews\n", r"missing \['cc03'\]"),
    (GOOD_BROWN, "ca01 news\n", r"not in cats.txt \['cb02'\]"),
    (GOOD_BROWN, "", r"lists no text"),
    ({"ca01": "", "cb02": GOOD_BROWN["cb02"]}, "ca01 news\ncb02 editorial\n", r"ca01 is empty"),
    ({"ca01": "plain words without tags", "cb02": GOOD_BROWN["cb02"]},
     "ca01 news\ncb02 editorial\n", r"word/tag"),
], ids=["text-missing", "text-unlisted", "no-texts", "empty-text", "no-tags"])
def test_sealed_but_wrong_brown_is_refused(tmp_path, files, cats, match):
    root = _brown(tmp_path, files, cats)
    with pytest.raises(JaxnnError, match=match) as info:
        corpora.brown_words(root)
    assert "brown" in str(info.value) and "fetch" in str(info.value)


def _bbc(root, layout):
    path = root / "bbc-news"
    path.mkdir(parents=True)
    for cls, files in layout.items():
        (path / cls).mkdir()
        for name, text in files.items():
            (path / cls / name).write_text(text)
    cache.seal(path, "bbc-news")
    return root


def test_good_fake_bbc_loads(tmp_path):
    ds = corpora.bbc_news(_bbc(tmp_path, {"business": {"1.txt": "a"}, "tech": {"1.txt": "b"}}))
    assert ds.classes == ("business", "tech")


@pytest.mark.parametrize("layout,match", [
    ({"business": {"1.txt": "a"}, "weather": {"1.txt": "b"}}, r"topic folders"),
    ({"business": {"1.txt": "a"}}, r"topic folders"),
    ({"business": {"1.txt": "a"}, "tech": {}}, r"topic tech has 0 articles"),
    ({"business": {"1.txt": "a"}, "tech": {"2.txt": ""}}, r"1 empty \['2.txt'\]"),
], ids=["unknown-topic", "one-topic", "empty-topic", "empty-article"])
def test_sealed_but_wrong_bbc_is_refused(tmp_path, layout, match):
    with pytest.raises(JaxnnError, match=match) as info:
        corpora.bbc_news(_bbc(tmp_path, layout))
    assert "bbc-news" in str(info.value)


def _rt(root, rows, header=("category", "text"), raw: bytes | None = None):
    path = root / "rotten-tomatoes"
    path.mkdir(parents=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    data = raw if raw is not None else bz2.compress(buf.getvalue().encode())
    (path / "rotten_tomatoes_corpus_full.csv.bz2").write_bytes(data)
    cache.seal(path, "rotten-tomatoes")
    return root


def test_good_fake_rotten_tomatoes_loads(tmp_path):
    ds = corpora.rotten_tomatoes(_rt(tmp_path, [("fresh", "good"), ("rotten", "bad")]))
    assert ds.texts == ("good", "bad")


@pytest.mark.parametrize("rows,header,raw,match", [
    ([("fresh", "good"), ("plot", "story")], ("category", "text"), None, r"rows of both"),
    ([("fresh", "good"), ("rotten", "bad")], ("label", "snippet"), None, r"columns"),
    ([], ("category", "text"), None, r"0 rows"),
    ([], ("category", "text"), b"not bzip2 at all", r"unreadable"),
], ids=["one-category", "other-columns", "no-rows", "not-bz2"])
def test_sealed_but_wrong_rotten_tomatoes_is_refused(tmp_path, rows, header, raw, match):
    with pytest.raises(JaxnnError, match=match) as info:
        corpora.rotten_tomatoes(_rt(tmp_path, rows, header, raw))
    assert "rotten-tomatoes" in str(info.value)


@pytest.mark.parametrize("flag", ["--file", "--wheel"])
@pytest.mark.parametrize("name", ["mnist", "brown"])
def test_fetch_with_a_missing_file_is_a_clear_error(tmp_path, capsys, flag, name):
    missing = tmp_path / "MISSING_FILE"
    rc = cli.main(["fetch", name, flag, str(missing), "--dir", str(tmp_path / "cache")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "MISSING_FILE" in err and "does not exist" in err and "jaxnn: error" in err
    assert "Traceback" not in err and "FileNotFoundError" not in err
    assert not (tmp_path / "cache" / name).exists()


def test_fetch_with_a_folder_as_file_is_a_clear_error(tmp_path):
    with pytest.raises(JaxnnError, match="is not a file"):
        cache.fetch("mnist", file=tmp_path, directory=tmp_path / "cache", verbose=False)
