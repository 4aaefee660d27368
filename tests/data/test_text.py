"""The text pipeline: tokenizer, vocabulary, padding, n-gram windows and BPTT batches,
bad inputs included."""

from collections import Counter

import numpy as np
import pytest

from jaxnn.data import text
from jaxnn.data.text import Vocabulary, pad_truncate, stream_batches, tokenize, windows
from jaxnn.errors import JaxnnError, ShapeError


def test_tokenize_words_numbers_punctuation():
    toks = tokenize("The cat's mat, state-of-the-art: 3.14 and 1,000 (ok)! 'quoted' -x")
    assert toks == ["The", "cat's", "mat", ",", "state-of-the-art", ":", "3.14", "and",
                    "1,000", "(", "ok", ")", "!", "'", "quoted", "'", "-", "x"]
    assert tokenize("Hello World", lower=True) == ["hello", "world"]
    assert tokenize("") == [] and tokenize("  \n\t ") == []
    assert tokenize("...") == [".", ".", "."]
    assert tokenize("don’t café") == ["don’t", "café"]


def test_bytes_utf8_strict_and_replace():
    assert tokenize("naïve".encode()) == ["naïve"]
    bad = b"good\xffword ok"
    with pytest.raises(JaxnnError, match=r"invalid UTF-8 at byte 4"):
        tokenize(bad)
    with pytest.raises(JaxnnError, match="invalid UTF-8"):
        text.characters(bad)
    assert tokenize(bad, errors="replace") == ["good", "\ufffd", "word", "ok"]
    assert text.characters(b"a\xffb", errors="replace") == ["a", "\ufffd", "b"]
    with pytest.raises(JaxnnError, match="errors"):
        tokenize(bad, errors="ignore")
    with pytest.raises(JaxnnError, match="str or bytes"):
        tokenize(3)


def test_characters_keep_whitespace():
    assert text.characters("Ab c\n") == ["A", "b", " ", "c", "\n"]
    assert text.characters("AB", lower=True) == ["a", "b"]


def test_vocabulary_order_and_ids():
    toks = "b a c a b a d".split()
    v = Vocabulary.build(toks, specials=("<s>",))
    assert v.tokens == ("<pad>", "<unk>", "<s>", "a", "b", "c", "d")  # ties c, d alphabetical
    assert v.pad_id == 0 and v.unk_id == 1 and len(v) == 7
    assert v.counts == (0, 0, 0, 3, 2, 1, 1)
    np.testing.assert_array_equal(v.encode(["a", "zzz", "d"]), [3, 1, 6])
    assert v.encode(["a"]).dtype == np.int32
    assert v.decode(np.array([[3, 4], [0, 1]])) == ["a", "b", "<pad>", "<unk>"]
    assert v.decode(v.encode(toks)) == toks


def test_vocabulary_min_count_max_size_and_counter():
    c = Counter({"x": 5, "y": 3, "z": 1, "w": 1})
    v = Vocabulary.build(c, min_count=2)
    assert v.tokens == ("<pad>", "<unk>", "x", "y")
    assert v.counts[v.unk_id] == 2  # z and w merged into unk
    v2 = Vocabulary.build(c, max_size=3, pad=None)
    assert v2.tokens == ("<unk>", "x", "y") and v2.pad_id is None and v2.unk_id == 0
    assert v2.counts == (2, 5, 3)


def test_vocabulary_frozen_hashable_equal():
    a = Vocabulary.build("a b b".split())
    b = Vocabulary.build(Counter({"b": 2, "a": 1}))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    with pytest.raises(Exception):
        a.tokens = ()


def test_vocabulary_other_corpus_maps_unseen_to_unk():
    v = Vocabulary.build(tokenize("the cat sat on the mat"))
    ids = v.encode(tokenize("the dog sat on a log"))
    assert v.decode(ids) == ["the", "<unk>", "sat", "on", "<unk>", "<unk>"]
    assert (ids == v.unk_id).sum() == 3


def test_vocabulary_bad_inputs():
    with pytest.raises(JaxnnError, match="empty corpus"):
        Vocabulary.build([])
    with pytest.raises(JaxnnError, match="empty corpus"):
        Vocabulary.build(Counter())
    v = Vocabulary.build("a b".split(), unk=None)
    with pytest.raises(JaxnnError, match="'zebra'"):
        v.encode(["a", "zebra"])
    with pytest.raises(JaxnnError, match="token id 3 is outside"):
        v.decode([0, 3])
    with pytest.raises(JaxnnError, match="token id -1 is outside"):
        v.decode([-1])
    with pytest.raises(JaxnnError, match="integers"):
        v.decode([0.5])
    with pytest.raises(JaxnnError, match="max_size"):
        Vocabulary.build("a".split(), max_size=1)
    with pytest.raises(JaxnnError, match="min_count"):
        Vocabulary.build("a".split(), min_count=0)
    with pytest.raises(JaxnnError, match="distinct"):
        Vocabulary.build("a".split(), specials=("<unk>",))
    with pytest.raises(JaxnnError, match="unique"):
        Vocabulary(tokens=("<pad>", "a", "a"), unk=None)
    with pytest.raises(JaxnnError, match="id 0"):
        Vocabulary(tokens=("a", "<pad>"), unk=None)


def test_pad_truncate_mask():
    ids, mask = pad_truncate([[5, 6, 7, 8], [9], []], 3, pad_id=0)
    np.testing.assert_array_equal(ids, [[5, 6, 7], [9, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    assert ids.dtype == np.int32 and mask.dtype == bool
    ids, mask = pad_truncate([np.array([1, 2])], 4, pad_id=7)
    np.testing.assert_array_equal(ids, [[1, 2, 7, 7]])
    e, m = pad_truncate([], 2)
    assert e.shape == (0, 2) and m.shape == (0, 2)


@pytest.mark.parametrize("length", [0, -1, 2.5])
def test_pad_truncate_bad_length(length):
    with pytest.raises(JaxnnError, match="length"):
        pad_truncate([[1, 2]], length)


def test_pad_truncate_bad_ids():
    with pytest.raises(JaxnnError, match="non-negative"):
        pad_truncate([[1, -2]], 3)
    with pytest.raises(JaxnnError, match="integer"):
        pad_truncate([[1.5]], 3)


def test_windows_histories():
    ids = np.arange(10, 16)  # 10 11 12 13 14 15
    ctx, tgt = windows(ids, 3, start=2)
    np.testing.assert_array_equal(ctx, [[10, 11], [11, 12], [12, 13], [13, 14]])
    np.testing.assert_array_equal(tgt, [12, 13, 14, 15])
    assert ctx.dtype == np.int32 and tgt.dtype == np.int32
    ctx, tgt = windows(ids, 3, pad_id=0)
    np.testing.assert_array_equal(ctx[:3], [[0, 0], [0, 10], [10, 11]])
    np.testing.assert_array_equal(tgt, ids)
    # a test split [4, 6) takes its history from the preceding split
    ctx, tgt = windows(ids, 4, start=4, stop=6)
    np.testing.assert_array_equal(ctx, [[11, 12, 13], [12, 13, 14]])
    np.testing.assert_array_equal(tgt, [14, 15])
    ctx, tgt = windows(ids, 1)
    assert ctx.shape == (6, 0)
    ctx, tgt = windows(ids, 2, start=3, stop=3)
    assert ctx.shape == (0, 1) and tgt.shape == (0,)


def test_windows_bad_inputs():
    with pytest.raises(JaxnnError, match="empty corpus"):
        windows(np.zeros(0, np.int32), 3)
    with pytest.raises(JaxnnError, match="longer than the text"):
        windows([1, 2], 3, pad_id=0)
    with pytest.raises(JaxnnError, match="before the stream's start"):
        windows([1, 2, 3, 4], 3)
    with pytest.raises(JaxnnError, match="start"):
        windows([1, 2, 3, 4], 2, start=3, stop=2)
    with pytest.raises(JaxnnError, match="stop"):
        windows([1, 2, 3, 4], 2, start=1, stop=9)
    with pytest.raises(JaxnnError, match="non-negative"):
        windows([1, -2, 3], 2, pad_id=0)
    with pytest.raises(JaxnnError, match="positive"):
        windows([1, 2, 3], 0)
    with pytest.raises(ShapeError):
        windows(np.zeros((2, 3), np.int32), 2, pad_id=0)


def test_stream_batches_zaremba_layout():
    ids = np.arange(23)  # B=2 -> rows of 11: 0..10, 11..21 (22 dropped)
    x, y = stream_batches(ids, batch_size=2, steps=3)
    assert x.shape == y.shape == (3, 2, 3) and x.dtype == np.int32
    np.testing.assert_array_equal(x[0], [[0, 1, 2], [11, 12, 13]])
    np.testing.assert_array_equal(x[1], [[3, 4, 5], [14, 15, 16]])
    np.testing.assert_array_equal(y, x + 1)  # targets = inputs shifted by one
    # consecutive chunks continue each row (the state carries over)
    np.testing.assert_array_equal(x[1][:, 0], x[0][:, -1] + 1)


def test_stream_batches_bad_inputs():
    with pytest.raises(JaxnnError, match="empty corpus"):
        stream_batches(np.zeros(0, np.int32), 2, 3)
    with pytest.raises(JaxnnError, match="too short"):
        stream_batches(np.arange(7), 2, 3)
    stream_batches(np.arange(8), 2, 3)  # exactly B * (steps + 1)
    with pytest.raises(JaxnnError, match="batch_size"):
        stream_batches(np.arange(8), 0, 3)
    with pytest.raises(JaxnnError, match="steps"):
        stream_batches(np.arange(8), 2, -1)
