"""jaxnn.data.corpora on tiny corpora written in the test (the real-data checks skip without
the cache)."""

import bz2
import csv
import io
import os

import numpy as np
import pytest

from jaxnn.data import cache, corpora
from jaxnn.errors import JaxnnError

BROWN = {
    "ca01": "\n\n\tThe/at Jury/nn-tl said/vbd ./.\n\tIt/pps ended/vbd ./.\n\n\n\tA/at b/c/nn\n",
    "cb02": "\n\n\tthe/at jury/nn ,/, 1/2/cd said/vbd\n",
}


def _brown(root):
    """A sealed jaxnn cache with a two-file Brown (``cats.txt`` order, not sorted order)."""
    path = root / "brown"
    path.mkdir(parents=True)
    (path / "cats.txt").write_text("cb02 editorial\nca01 news\n")
    for name, text in BROWN.items():
        (path / name).write_text(text)
    cache.seal(path, "brown")
    return root


def test_brown_words_order_last_slash_case_and_markers(tmp_path):
    root = _brown(tmp_path)
    want = ["the", "jury", ",", "1/2", "said", "The", "Jury", "said", ".", "It", "ended", ".",
            "A", "b/c"]
    assert corpora.brown_words(root) == want
    P, T = corpora.PARAGRAPH, corpora.TEXT
    assert corpora.brown_words(root, markers=True) == (
        want[:5] + [P, T] + want[5:12] + [P] + want[12:] + [P, T])


def test_brown_damaged_missing_and_nltk_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("NLTK_DATA", raising=False)
    with pytest.raises(JaxnnError, match="jaxnn fetch brown"):
        corpora.brown_words(tmp_path / "none")
    root = _brown(tmp_path / "c")
    (root / "brown" / "ca01").write_text("\tchanged/nn\n")
    with pytest.raises(JaxnnError, match="damaged.*not used.*jaxnn fetch brown"):
        corpora.brown_words(root)
    # an NLTK folder must hold the 500 files its cats.txt names
    nltk = tmp_path / "nltk_data" / "corpora" / "brown"
    nltk.mkdir(parents=True)
    ids = [f"c{chr(97 + i // 30)}{i % 30 + 1:02d}" for i in range(500)]
    (nltk / "cats.txt").write_text("".join(f"{f} news\n" for f in ids))
    for f in ids[:-1]:
        (nltk / f).write_text("\tw/nn\n")
    with pytest.raises(JaxnnError, match="not a complete NLTK Brown folder.*missing"):
        corpora.brown_words(nltk=tmp_path / "nltk_data")
    (nltk / ids[-1]).write_text("\tlast/nn ./.\n")
    assert len(corpora.brown_words(nltk=tmp_path / "nltk_data")) == 501
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nltk_data"))  # used when jaxnn has no copy
    assert corpora.brown_words(tmp_path / "none")[-2:] == ["last", "."]


def test_lm_split_sizes_and_both_vocabulary_rules():
    # whole-corpus counts: a 5, b 4, c 3 (two in train), d 4 (all in test), e 1
    train = ["a", "b", "a", "c", "b", "a", "c", "b"]
    valid = ["a", "b"]
    test = ["a", "d", "d", "d", "d", "c", "e"]
    toks = train + valid + test
    paper = corpora.lm_split(toks, rule="paper", sizes=(8, 2), max_rare=3)
    assert paper.vocab.tokens == ("<unk>", "a", "b", "d")  # c (3) and e (1) merged
    assert (paper.train, paper.valid, paper.test) == (slice(0, 8), slice(8, 10), slice(10, 17))
    assert paper.counts["test_tokens"] == 7 and paper.counts["types"] == 5
    assert paper.counts["vocab_size"] == 4
    np.testing.assert_allclose(paper.counts["test_unk_rate"], 2 / 7)       # c, e
    np.testing.assert_allclose(paper.counts["test_unseen_in_train"], 4 / 7)  # d x4
    assert paper.vocab.decode(paper.stream[paper.test]) == ["a", "d", "d", "d", "d", "<unk>",
                                                            "<unk>"]
    tr = corpora.lm_split(toks, rule="train", sizes=(8, 2), max_rare=2)
    assert tr.vocab.tokens == ("<unk>", "a", "b")  # train counts: a 3, b 3, c 2
    np.testing.assert_allclose(tr.counts["test_unk_rate"], 6 / 7)
    assert tr.counts["test_unseen_in_train"] == 0.0
    assert tr.stream.dtype == np.int32 and len(tr.stream) == 17
    with pytest.raises(JaxnnError, match="leave no test split"):
        corpora.lm_split(toks, sizes=(10, 7))
    with pytest.raises(JaxnnError, match="rule must be"):
        corpora.lm_split(toks, rule="both")


def test_fixed_split_is_deterministic_with_its_checksum():
    s = corpora.fixed_split(10, 0)
    assert [len(p) for p in s[:3]] == [8, 1, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(s[:3])), np.arange(10))
    again = corpora.fixed_split(10, 0)
    assert s.checksum == again.checksum
    assert s.checksum == "de9654a4db4a76c232def3722fff89e3763ed3415f8cb358f14bf36f8c0bd453"
    import hashlib  # the checksum is the sha256 of the three int64 index arrays
    assert s.checksum == hashlib.sha256(b"".join(p.astype("<i8").tobytes() + b"|"
                                                 for p in s[:3])).hexdigest()
    assert corpora.fixed_split(10, 1).checksum != s.checksum
    assert [len(p) for p in corpora.fixed_split(2225, 0)[:3]] == [1780, 222, 223]
    with pytest.raises(JaxnnError, match="fractions"):
        corpora.fixed_split(10, 0, (0.5, 0.5, 0.5))


def _bbc(root):
    path = root / "bbc-news"
    for cls, files in {"business": {"001.txt": "Profits up &amp; down\n\nText.",
                                    "002.txt": "Same  story\n"},
                       "sports": {"199.txt": "Cost \xa3 5m".encode("latin-1"),
                                  "200.txt": "SAME story"}}.items():
        (path / cls).mkdir(parents=True)
        for name, text in files.items():
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            (path / cls / name).write_bytes(data)
    cache.seal(path, "bbc-news")
    return root


def test_bbc_news_latin1_entities_and_duplicates(tmp_path):
    ds = corpora.bbc_news(_bbc(tmp_path))
    assert ds.classes == ("business", "sports")
    assert ds.texts == ("Profits up & down\n\nText.", "Same  story", "Cost £ 5m")
    assert ds.ids == ("business/001.txt", "business/002.txt", "sports/199.txt")
    np.testing.assert_array_equal(ds.labels, [0, 0, 1])
    assert ds.info["latin1_files"] == ["sports/199.txt"]
    assert ds.info["duplicates_dropped"] == 1 and ds.info["files"] == 4
    assert ds.split().checksum == corpora.fixed_split(3, corpora.SPLIT_SEED).checksum


def test_rotten_tomatoes_keeps_fresh_and_rotten(tmp_path):
    path = tmp_path / "rotten-tomatoes"
    path.mkdir()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    for row in [("fresh", "Good &amp; fun", "m", "True"), ("plot", "A story", "m", "True"),
                ("rotten", "Dull, \"very\"", "m", "True"), ("fresh", "good & FUN", "n", "False")]:
        w.writerow(row)
    csv_bz2 = path / "rotten_tomatoes_corpus_full.csv.bz2"
    csv_bz2.write_bytes(bz2.compress(buf.getvalue().encode()))
    cache.seal(path, "rotten-tomatoes")
    ds = corpora.rotten_tomatoes(tmp_path)
    assert ds.classes == ("rotten", "fresh")
    assert ds.texts == ("Good & fun", 'Dull, "very"')
    np.testing.assert_array_equal(ds.labels, [1, 0])
    assert ds.info["other_dropped"] == 1 and ds.info["duplicates_dropped"] == 1
    assert ds.info["fresh_before_dedupe"] == 2 and ds.info["rotten_before_dedupe"] == 1


_REAL = os.environ.get("JAXNN_DATA")


@pytest.mark.skipif(not _REAL or not all((cache.cache_dir() / n / "manifest.json").exists()
                                         for n in ("bbc-news", "rotten-tomatoes")),
                    reason="the real BBC / Rotten Tomatoes data are not in $JAXNN_DATA")
def test_real_default_split_checksums():
    bbc, rt = corpora.bbc_news(), corpora.rotten_tomatoes()
    assert len(bbc.texts) == 2124 and len(rt.texts) == 12751
    assert bbc.split().checksum == corpora.BBC_SPLIT_SHA256
    assert rt.split().checksum == corpora.RT_SPLIT_SHA256


@pytest.mark.skipif(not _REAL or not (cache.cache_dir() / "brown" / "manifest.json").exists(),
                    reason="the real Brown corpus is not in $JAXNN_DATA")
def test_real_brown_counts():
    paper = corpora.brown_lm(rule="paper")
    assert paper.counts["tokens"] == 1_161_192 and paper.counts["test_tokens"] == 161_192
    assert paper.counts["vocab_size"] == 17_905  # UNK included
    assert corpora.brown_lm(rule="train").counts["vocab_size"] == 14_114
