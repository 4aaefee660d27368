"""The text pipeline: tokens, a vocabulary, ids, fixed-length batches and n-gram windows.

Text applications start from a lookup matrix of word vectors indexed by token ids (Qiu
Xipeng, 《神经网络与深度学习》 (2015), the text-applications part). This module turns text
into those ids, with numpy only (int32 ids, no JAX):

    toks = tokenize("The cat's mat, state-of-the-art: 3.14!")
    # ['The', "cat's", 'mat', ',', 'state-of-the-art', ':', '3.14', '!']
    v = Vocabulary.build(toks, min_count=1)        # <pad>=0, <unk>=1, then by frequency
    ids = v.encode(toks)                           # (T,) int32; unseen words -> v.unk_id
    x, mask = pad_truncate([ids[:3], ids], 5)      # the notes' first fix for variable length
    ctx, tgt = windows(ids, n=3, pad_id=v.pad_id)  # n-gram histories (Bengio et al. 2003)
    X, Y = stream_batches(ids, batch_size=2, steps=2)  # truncated BPTT (Zaremba et al. 2014)

**Invalid UTF-8.** Text arrives as ``str``; ``bytes`` are decoded as UTF-8 by
:func:`decode_utf8`. With ``errors="strict"`` (the default everywhere) an invalid byte raises
:class:`JaxnnError` naming its offset; with ``errors="replace"`` every invalid byte sequence
becomes U+FFFD (the replacement character), which :func:`tokenize` emits as a token of its
own, like a punctuation mark (so one bad byte never glues two words together).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_choice

__all__ = ["TOKEN_PATTERN", "decode_utf8", "tokenize", "characters", "Vocabulary",
           "pad_truncate", "windows", "stream_batches"]

#: The tokenizer's regular expression, tried left to right at each position:
#:   1. a number with internal separators: ``3.14``, ``1,000``, ``10:30`` (digits, then one or
#:      more groups of ``.``/``,``/``:`` followed by digits);
#:   2. a word: letters or digits (any script), with internal apostrophes (' or ’) or hyphens
#:      joining two such runs: ``don't``, ``cat's``, ``state-of-the-art``, ``mp3``;
#:   3. any other non-space character, one token per character: ``,`` ``.`` ``"`` ``(`` ``-``
#:      ``'`` (a leading/trailing apostrophe or hyphen is punctuation), ``_``, U+FFFD.
TOKEN_PATTERN = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:['’\-][^\W_]+)*|[^\s]")


def decode_utf8(data: bytes | str, *, errors: str = "strict") -> str:
    """Decode UTF-8 ``bytes`` (a ``str`` passes through unchanged).

    Args:
        data: ``bytes`` (or ``bytearray``) to decode, or an already decoded ``str``.
        errors: ``"strict"``: invalid UTF-8 raises; ``"replace"``: each invalid sequence
            becomes U+FFFD.

    Returns:
        The text as ``str``.

    Raises:
        JaxnnError: invalid UTF-8 under ``"strict"`` (the message gives the byte offset and
            the bytes), or ``data`` is neither bytes nor str.
    """
    check_choice(errors, ("strict", "replace"), "errors")
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray)):
        raise JaxnnError(f"text must be str or bytes; got {type(data).__name__}")
    try:
        return bytes(data).decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise JaxnnError(
            f"invalid UTF-8 at byte {e.start}: {bytes(data[e.start:e.end + 3])!r} ({e.reason});"
            " pass errors='replace' to turn invalid bytes into U+FFFD"
        ) from None


def tokenize(text: str | bytes, *, lower: bool = False, errors: str = "strict") -> list[str]:
    """Split text into words, numbers and punctuation marks (see :data:`TOKEN_PATTERN`).

    Args:
        text: a ``str``, or UTF-8 ``bytes`` (decoded by :func:`decode_utf8`).
        lower: lower-case every token.
        errors: for ``bytes``: ``"strict"`` or ``"replace"`` (see :func:`decode_utf8`).

    Returns:
        The tokens in order, as a list of ``str`` (empty for empty or blank text).

    Raises:
        JaxnnError: invalid UTF-8 under ``errors="strict"``.
    """
    s = decode_utf8(text, errors=errors)
    if lower:
        s = s.lower()
    return TOKEN_PATTERN.findall(s)


def characters(text: str | bytes, *, lower: bool = False, errors: str = "strict") -> list[str]:
    """The text as a list of characters (Unicode code points), for character-level models.

    Whitespace is kept (a character LM must predict spaces and newlines).

    Args:
        text: a ``str`` or UTF-8 ``bytes``.
        lower: lower-case first.
        errors: for ``bytes``: ``"strict"`` or ``"replace"``.

    Returns:
        ``list(text)``.
    """
    s = decode_utf8(text, errors=errors)
    return list(s.lower() if lower else s)


def _ids_array(ids, name: str, *, ndim: int | None = 1) -> np.ndarray:
    a = np.asarray(ids)
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise JaxnnError(f"{name} must be integer token ids; got dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ShapeError(f"{name} must have {ndim} dimension(s); got shape {a.shape}")
    if a.size and a.min() < 0:
        raise JaxnnError(f"{name} must be non-negative token ids; got {int(a.min())}")
    return a


@dataclass(frozen=True)
class Vocabulary:
    """A fixed list of token types; a token's id is its position in ``tokens``.

    Build it with :meth:`build`. Frozen and hashable (equal vocabularies hash equal).

    Attributes:
        tokens: the types, id order: ``pad`` (if any) at 0, then ``unk``, then the specials,
            then the words by frequency (descending, ties alphabetical).
        unk: the unknown-word symbol (every token not in ``tokens`` encodes to it), or
            ``None`` (encoding an unknown token is then an error).
        pad: the padding symbol (id 0), or ``None``.
        counts: per type, its count in the corpus it was built from (``unk``: the total count
            of the types merged into it; ``pad``: 0), aligned with ``tokens``; or ``None``.
    """

    tokens: tuple[str, ...]
    unk: str | None = "<unk>"
    pad: str | None = "<pad>"
    counts: tuple[int, ...] | None = None
    _index: dict = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "tokens", tuple(self.tokens))
        index = {t: i for i, t in enumerate(self.tokens)}
        if len(index) != len(self.tokens):
            dup = [t for t, c in Counter(self.tokens).items() if c > 1]
            raise JaxnnError(f"vocabulary tokens must be unique; repeated: {dup[:5]}")
        if self.pad is not None and (not self.tokens or self.tokens[0] != self.pad):
            raise JaxnnError(f"pad symbol {self.pad!r} must be the token with id 0")
        if self.unk is not None and self.unk not in index:
            raise JaxnnError(f"unk symbol {self.unk!r} is not among the tokens")
        if self.counts is not None:
            object.__setattr__(self, "counts", tuple(int(c) for c in self.counts))
            if len(self.counts) != len(self.tokens):
                raise ShapeError(f"counts has {len(self.counts)} entries for "
                                 f"{len(self.tokens)} tokens")
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(cls, tokens_or_counts: Iterable[str] | Mapping[str, int], *, min_count: int = 1,
              max_size: int | None = None, unk: str | None = "<unk>",
              pad: str | None = "<pad>", specials: Sequence[str] = ()) -> Vocabulary:
        """Build a vocabulary from a token stream or a ``{token: count}`` mapping.

        Args:
            tokens_or_counts: an iterable of tokens (counted here) or a mapping (e.g.
                ``collections.Counter``) from token to count.
            min_count: keep words seen at least this often (others map to ``unk``).
            max_size: at most this many types in all, reserved symbols included (the most
                frequent words are kept); ``None`` for no limit.
            unk: the unknown-word symbol, or ``None``.
            pad: the padding symbol (id 0), or ``None``.
            specials: extra reserved symbols (e.g. ``"<s>"``), ids right after ``unk``, kept
                whatever their count.

        Returns:
            The :class:`Vocabulary`.

        Raises:
            JaxnnError: empty corpus, ``min_count < 1``, repeated reserved symbols, or a
                ``max_size`` smaller than the number of reserved symbols.
        """
        if isinstance(tokens_or_counts, (str, bytes)) or tokens_or_counts is None:
            raise JaxnnError("tokens_or_counts must be a list of tokens or a {token: count} "
                             f"mapping (tokenize a text first); got {tokens_or_counts!r:.40}")
        counts = Counter(dict(tokens_or_counts) if isinstance(tokens_or_counts, Mapping)
                         else tokens_or_counts)
        if not counts:
            raise JaxnnError("cannot build a vocabulary from an empty corpus")
        bad_tok = [t for t in counts if not isinstance(t, str)]
        if bad_tok:
            raise JaxnnError(f"tokens must be str; got {bad_tok[0]!r} "
                             f"({type(bad_tok[0]).__name__})")
        bad_cnt = [(t, c) for t, c in counts.items()
                   if not isinstance(c, (int, np.integer)) or isinstance(c, bool) or c < 0]
        if bad_cnt:
            raise JaxnnError(f"counts must be integers >= 0; got count {bad_cnt[0][1]!r} for "
                             f"token {bad_cnt[0][0]!r}")
        if (not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool)
                or min_count < 1):
            raise JaxnnError(f"min_count must be an integer >= 1; got {min_count!r}")
        reserved = [s for s in (pad, unk) if s is not None] + list(specials)
        if len(set(reserved)) != len(reserved):
            raise JaxnnError(f"reserved symbols must be distinct; got {reserved}")
        if max_size is not None and max_size < len(reserved):
            raise JaxnnError(f"max_size {max_size} is smaller than the {len(reserved)} reserved "
                             f"symbols {reserved}")
        taken = set(reserved)
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in taken),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - len(reserved)]
        kept = set(words) | taken
        merged = sum(c for w, c in counts.items() if w not in kept)
        toks = tuple(reserved) + tuple(words)
        cnt = [0 if s == pad else merged + counts.get(s, 0) if s == unk else counts.get(s, 0)
               for s in reserved] + [counts[w] for w in words]
        return cls(tokens=toks, unk=unk, pad=pad, counts=tuple(cnt))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    @property
    def pad_id(self) -> int | None:
        """Id of ``pad`` (0), or ``None``."""
        return None if self.pad is None else 0

    @property
    def unk_id(self) -> int | None:
        """Id of ``unk``, or ``None``."""
        return None if self.unk is None else self._index[self.unk]

    def index(self, token: str) -> int:
        """Id of ``token``; an unknown token gets ``unk_id`` (JaxnnError naming it if no unk)."""
        i = self._index.get(token)
        if i is None:
            if self.unk is None:
                raise JaxnnError(f"token {token!r} is not in the vocabulary (and unk is None)")
            return self._index[self.unk]
        return i

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids of ``tokens``: (T,) int32; unknown tokens -> ``unk_id`` (error if unk is None)."""
        if isinstance(tokens, (str, bytes)):
            raise JaxnnError(f"encode takes a list of tokens, not a str (tokenize it first); "
                             f"got {tokens!r:.40}")
        return np.fromiter((self.index(t) for t in tokens), dtype=np.int32)

    def decode(self, ids) -> list[str]:
        """Tokens of ``ids`` (any integer array-like, flattened in C order).

        Raises:
            JaxnnError: an id outside ``[0, len(self))``, naming it.
        """
        a = np.asarray(ids).ravel()
        if a.size and a.dtype.kind not in "iu":
            raise JaxnnError(f"ids must be integers; got dtype {a.dtype}")
        bad = a[(a < 0) | (a >= len(self))]
        if bad.size:
            raise JaxnnError(f"token id {int(bad[0])} is outside the vocabulary [0, {len(self)})"
                             f" ({bad.size} such id(s))")
        return [self.tokens[int(i)] for i in a]


def pad_truncate(seqs: Sequence[Sequence[int]], length: int, *, pad_id: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Cut or pad every sequence to ``length`` ids, with a mask of the real positions.

    The notes' first fix for variable-length text: a fixed-size input. Sequences longer than
    ``length`` keep their first ``length`` ids; shorter ones are padded on the right.

    Args:
        seqs: N sequences of integer ids (lists or 1-D arrays; empty ones allowed).
        length: the fixed length L >= 1.
        pad_id: the id written into padded positions.

    Returns:
        ``(ids, mask)``: ids (N, L) int32; mask (N, L) bool, True where a real token is.

    Raises:
        JaxnnError: ``length < 1``, or a sequence holds non-integer or negative ids.
    """
    if int(length) != length or length < 1:
        raise JaxnnError(f"pad_truncate length must be a positive integer; got {length!r}")
    length = int(length)
    if seqs is None or isinstance(seqs, (str, bytes)) or not hasattr(seqs, "__len__"):
        raise JaxnnError(f"seqs must be a sequence of id sequences; got {seqs!r:.40}")
    if not isinstance(pad_id, (int, np.integer)) or isinstance(pad_id, bool) or pad_id < 0:
        raise JaxnnError(f"pad_id must be an integer id >= 0; got {pad_id!r}")
    ids = np.full((len(seqs), length), pad_id, dtype=np.int32)
    mask = np.zeros((len(seqs), length), dtype=bool)
    for i, s in enumerate(seqs):
        a = _ids_array(np.asarray(s, dtype=np.int64) if len(s) == 0 else s, f"seqs[{i}]")
        k = min(a.size, length)
        ids[i, :k] = a[:k]
        mask[i, :k] = True
    return ids, mask


def windows(ids, n: int, *, start: int = 0, stop: int | None = None, pad_id: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The n-gram training pairs of a continuous stream: (history of n−1 ids, next id).

    For every position t in ``[start, stop)`` the context is ``ids[t-n+1:t]`` and the target
    ``ids[t]`` (Bengio et al. 2003: predict w_t from w_{t−n+1} … w_{t−1}). Contexts may reach
    before ``start``, so a test split's first windows take their history from the preceding
    split (pass the whole stream with ``start``/``stop`` of the split); positions before the
    stream's beginning (index < 0) take ``pad_id``.

    Args:
        ids: (T,) integer token ids, T >= 1.
        n: the window size (context n−1 ids plus the target), 1 <= n <= T.
        start: first target position.
        stop: one past the last target position (default T).
        pad_id: the id of positions before the stream's start, or ``None`` (then a context
            reaching before index 0 is an error).

    Returns:
        ``(contexts, targets)``: contexts (stop−start, n−1) int32, oldest first; targets
        (stop−start,) int32.

    Raises:
        JaxnnError: empty stream, window longer than the stream, bad start/stop, negative
            ids, or a history before the start with ``pad_id=None``.
    """
    a = _ids_array(ids, "ids")
    T = a.size
    if T == 0:
        raise JaxnnError("windows of an empty corpus: the id stream has no tokens")
    if int(n) != n or n < 1:
        raise JaxnnError(f"window size n must be a positive integer; got {n!r}")
    n = int(n)
    if n > T:
        raise JaxnnError(f"window of n={n} tokens is longer than the text ({T} tokens)")
    stop = T if stop is None else int(stop)
    if not 0 <= start <= stop <= T:
        raise JaxnnError(f"need 0 <= start <= stop <= {T}; got start={start}, stop={stop}")
    if pad_id is None and start < n - 1 and stop > start:
        raise JaxnnError(f"the window at position {start} reaches {n - 1 - start} token(s) "
                         f"before the stream's start; pass pad_id or start >= {n - 1}")
    t = np.arange(start, stop)
    pos = t[:, None] + np.arange(-(n - 1), 0)[None, :]  # (K, n-1)
    ctx = np.where(pos >= 0, a[np.maximum(pos, 0)], 0 if pad_id is None else pad_id)
    return ctx.astype(np.int32), a[t].astype(np.int32)


def stream_batches(ids, batch_size: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Batches for truncated backpropagation through time over one continuous stream.

    The layout of Zaremba, Sutskever & Vinyals 2014: the stream is cut into ``batch_size``
    contiguous rows of R = T // batch_size ids (the last T mod batch_size ids dropped); row
    b is ``ids[b·R:(b+1)·R]``. Chunk k holds columns ``[k·steps, (k+1)·steps)`` of every row,
    and its targets are the same columns shifted by one, so the final state of chunk k is the
    right initial state of chunk k+1, row by row. K = (R − 1) // steps chunks (the tail of
    each row that does not fill a chunk is dropped).

    Args:
        ids: (T,) integer token ids.
        batch_size: B >= 1 rows.
        steps: chunk length >= 1 (the truncation length of BPTT).

    Returns:
        ``(inputs, targets)``: both (K, B, steps) int32; ``targets[k, b, s]`` is the id that
        follows ``inputs[k, b, s]`` in the stream.

    Raises:
        JaxnnError: empty stream, bad sizes, or a stream too short for one chunk
            (T < B·(steps + 1)).
    """
    a = _ids_array(ids, "ids")
    for v, name in ((batch_size, "batch_size"), (steps, "steps")):
        if int(v) != v or v < 1:
            raise JaxnnError(f"{name} must be a positive integer; got {v!r}")
    if a.size == 0:
        raise JaxnnError("stream_batches of an empty corpus: the id stream has no tokens")
    B, S = int(batch_size), int(steps)
    R = a.size // B
    K = (R - 1) // S if R > 0 else 0
    if K < 1:
        raise JaxnnError(f"a stream of {a.size} tokens is too short for batch_size={B}, "
                         f"steps={S} (needs at least {B * (S + 1)})")
    rows = a[: B * R].reshape(B, R).astype(np.int32)
    x = rows[:, : K * S].reshape(B, K, S).transpose(1, 0, 2)
    y = rows[:, 1: K * S + 1].reshape(B, K, S).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
