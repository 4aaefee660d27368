"""Embedded corpora for the quick modes: text from sources whose statistics are known exactly.

* :func:`markov_source`: a random order-k Markov source over made-up words. Its entropy rate
  is computed exactly, so ``exp(entropy rate)`` is the perplexity floor no language model
  can beat on text it generates (any model's cross-entropy on a stationary ergodic source
  is at least the source's entropy rate).
* :func:`topic_documents`: documents drawn from class-conditional word distributions that
  share a background vocabulary, for text classification; the Bayes classifier is known
  (:meth:`TopicSource.bayes_predict`), so the best achievable accuracy can be estimated.

The words are readable made-up strings (``"bake"``, ``"tolu"``, …); word 0 of a Markov
source is the sentence mark ``"."``, so :meth:`MarkovSource.text` exercises the tokenizer:
``tokenize(src.text(n, seed)) == src.decode(src.sample(n, seed))``.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cached_property

import numpy as np
import scipy.sparse

from jaxnn.errors import JaxnnError, check_positive

__all__ = ["make_words", "MarkovSource", "markov_source", "TopicSource", "topic_source",
           "topic_documents"]

_SYLLABLES = tuple(c + v for c in "bdfghklmnprstvz" for v in "aeiou")  # 75 syllables


def make_words(n: int, *, sentence_mark: bool = False) -> tuple[str, ...]:
    """``n`` distinct readable made-up words (two syllables, three beyond 75² words).

    With ``sentence_mark`` word 0 is ``"."``. Deterministic (no seed).
    """
    base = len(_SYLLABLES)
    out = ["."] if sentence_mark else []
    for i in range(n - len(out)):
        if i < base * base:
            digits = [i % base, i // base]
        else:  # three syllables (six letters): never equal to a two-syllable word
            j = i - base * base
            digits = [j // base**2, j // base % base, j % base]
        out.append("".join(_SYLLABLES[d] for d in digits))
    return tuple(out)


class MarkovSource:
    """An order-k Markov source over V words, with its exact entropy rate.

    A context is the last k words, numbered ``c = Σ_i w_i V^(k−1−i)`` (oldest word most
    significant), S = V^k contexts. Its next-word distribution is

        p(w | c) = (1 − ε) q_c(w) + ε / V,

    q_c = (1/L) δ_"." + (1 − 1/L) Dirichlet(concentration) over a random support of
    ``support`` distinct other words (sparse, so a model has something to learn; L the
    ``sentence_length``), smoothed by ε (``smoothing``) toward uniform
    so the chain over contexts is irreducible and aperiodic: its stationary distribution π
    is unique and the entropy rate is H = Σ_c π_c H(p(· | c)) nats/token.

    **Method.** π is found by power iteration, π ← πP (P the S × S transition matrix of the
    context chain, applied as a scipy sparse matrix for the q part plus the ε/V part summed
    per suffix: O(S · s′) per step) from the uniform distribution
    until ‖π_new − π‖₁ < 1e-12, which converges geometrically because ε > 0 (Doeblin). The
    result is checked: a failure to converge raises.

    Attributes:
        vocab_size: V. order: k. words: the V word strings (word 0 is ``"."``).
        support_ids: (S, s′) int32, the support of each q_c (distinct ids per row; in
            :func:`markov_source` column 0 is ``"."`` and s′ = support + 1).
        q: (S, s′) float64, its weights (rows sum to 1).
        smoothing: ε.
    """

    def __init__(self, words, order, support_ids, q, smoothing):
        self.words = tuple(words)
        self.vocab_size = len(self.words)
        self.order = int(order)
        self.support_ids = support_ids
        self.q = q
        self.smoothing = float(smoothing)
        self.n_contexts = self.vocab_size ** self.order

    def __repr__(self):
        return (f"MarkovSource(vocab_size={self.vocab_size}, order={self.order}, "
                f"support={self.q.shape[1]}, smoothing={self.smoothing})")

    def _probs(self) -> np.ndarray:
        """(S, s) probabilities of the support words, smoothing included."""
        return (1.0 - self.smoothing) * self.q + self.smoothing / self.vocab_size

    def distribution(self, context) -> np.ndarray:
        """p(· | context): (V,) float64 for a context of ``order`` word ids (oldest first)."""
        ctx, V = np.asarray(context).reshape(-1), self.vocab_size
        if ctx.size != self.order or ctx.min(initial=0) < 0 or ctx.max(initial=0) >= V:
            raise JaxnnError(f"context must be {self.order} ids in [0, {self.vocab_size}); "
                             f"got {ctx.tolist()}")
        c = int(np.ravel_multi_index(tuple(ctx), (V,) * self.order)) if self.order else 0
        p = np.full(V, self.smoothing / V)
        np.add.at(p, self.support_ids[c], (1.0 - self.smoothing) * self.q[c])
        return p

    @cached_property
    def stationary(self) -> np.ndarray:
        """π: (S,) float64, the stationary distribution over contexts (power iteration)."""
        S, V = self.n_contexts, self.vocab_size
        pi = np.full(S, 1.0 / S)
        if self.order == 0:
            return pi
        shift = (np.arange(S) * V) % S  # context -> its last k−1 words, times V
        nxt = (shift[:, None] + self.support_ids).ravel()
        src = np.repeat(np.arange(S), self.support_ids.shape[1])
        M = scipy.sparse.csr_matrix(((1.0 - self.smoothing) * self.q.ravel(), (nxt, src)),
                                    shape=(S, S))  # the sparse part of Pᵀ
        for _ in range(100_000):
            m = pi.reshape(V, S // V).sum(axis=0)  # mass per suffix (last k−1 words)
            new = M @ pi + np.repeat(m, V) * (self.smoothing / V)
            new /= new.sum()
            if np.abs(new - pi).sum() < 1e-12:
                return new
            pi = new
        raise JaxnnError("power iteration for the stationary distribution did not converge")

    def context_entropies(self) -> np.ndarray:
        """(S,) H(p(· | c)) in nats, the ε/V mass of the V − s off-support words included."""
        p = self._probs()
        u = self.smoothing / self.vocab_size
        off = (self.vocab_size - p.shape[1]) * (-u * np.log(u) if u > 0 else 0.0)
        return -(p * np.log(p)).sum(axis=1) + off

    def entropy_rate(self) -> float:
        """The exact entropy rate H = Σ_c π_c H(p(· | c)), nats per token."""
        return float(self.stationary @ self.context_entropies())

    def perplexity(self) -> float:
        """exp(entropy rate): the perplexity floor no model can beat on this source."""
        return float(np.exp(self.entropy_rate()))

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n word ids, (n,) int32: the first context drawn from π (a stationary sample)."""
        if int(n) != n or n < 1:
            raise JaxnnError(f"sample length n must be a positive integer; got {n!r}")
        n, V, k = int(n), self.vocab_size, self.order
        rng = np.random.default_rng(seed)
        c = int(rng.choice(self.n_contexts, p=self.stationary))
        u = rng.random(n).tolist()
        smooth = (rng.random(n) < self.smoothing).tolist()
        uniform = rng.integers(0, V, size=n).tolist()
        sup, S = self.support_ids, self.n_contexts
        cdf = np.cumsum(self.q, axis=1)
        cdf /= cdf[:, -1:]
        rows: dict[int, tuple[list, list]] = {}  # cumulative weights of the contexts visited
        out = [0] * n
        for t in range(n):
            if smooth[t]:
                w = uniform[t]
            else:
                row = rows.get(c)
                if row is None:
                    row = rows[c] = (cdf[c].tolist(), sup[c].tolist())
                w = row[1][min(bisect_right(row[0], u[t]), len(row[1]) - 1)]
            out[t] = w
            c = (c * V) % S + w if k else 0
        out = np.asarray(out, dtype=np.int32)
        return out

    def logprob(self, ids, *, start: int | None = None) -> np.ndarray:
        """ln p(w_t | w_{t−k} … w_{t−1}), (T − start,) float64, t in [start, T) (start ≥ order)."""
        a = np.asarray(ids).astype(np.int64)
        k, V = self.order, self.vocab_size
        start = k if start is None else int(start)
        if a.ndim != 1 or start < k or a.size <= start:
            raise JaxnnError(f"logprob needs a 1-D stream longer than start={start} >= order={k}")
        t = np.arange(start, a.size)
        c = np.zeros(t.size, dtype=np.int64)
        for i in range(k):
            c = c * V + a[t - k + i]
        sup, p = self.support_ids[c], self._probs()[c]
        hit = sup == a[t][:, None]
        prob = np.where(hit.any(axis=1), (p * hit).sum(axis=1), self.smoothing / V)
        return np.log(prob)

    def decode(self, ids) -> list[str]:
        """The word strings of ``ids``."""
        return [self.words[int(i)] for i in np.asarray(ids).ravel()]

    def text(self, n: int, seed: int) -> str:
        """``sample(n, seed)`` as text: words separated by spaces, a newline after each ``"."``."""
        return " ".join(self.decode(self.sample(n, seed))).replace(". ", ".\n")


def markov_source(seed: int, vocab_size: int, order: int = 2, concentration: float = 0.1, *,
                  support: int = 16, smoothing: float = 0.02,
                  sentence_length: float | None = 12.0) -> MarkovSource:
    """A random order-k Markov source (see :class:`MarkovSource`).

    Args:
        seed: the source's seed (numpy ``default_rng``).
        vocab_size: V >= 2 words, word 0 the sentence mark ``"."``.
        order: k >= 0 words of context; V^k contexts (at most 10^6).
        concentration: Dirichlet parameter of each q_c (small: peaked distributions).
        support: s, number of words besides ``"."`` each q_c puts mass on (capped at V − 1).
        smoothing: ε in (0, 1], the uniform share that keeps the chain ergodic.
        sentence_length: every q_c gives the sentence mark ``"."`` the weight
            1 / sentence_length (so sentences average about that many words); ``None``: no
            extra weight (``"."`` is then an ordinary word).

    Returns:
        The :class:`MarkovSource`.
    """
    if int(vocab_size) != vocab_size or vocab_size < 2:
        raise JaxnnError(f"vocab_size must be an integer >= 2; got {vocab_size!r}")
    if int(order) != order or order < 0:
        raise JaxnnError(f"order must be a non-negative integer; got {order!r}")
    check_positive(concentration, "concentration")
    if not 0 < smoothing <= 1:
        raise JaxnnError(f"smoothing must lie in (0, 1]; got {smoothing!r}")
    V, k = int(vocab_size), int(order)
    S = V**k
    if S > 10**6:
        raise JaxnnError(f"vocab_size**order = {S} contexts is more than 10^6")
    if int(support) < 1:
        raise JaxnnError(f"support must be >= 1; got {support!r}")
    if sentence_length is not None and sentence_length < 1:
        raise JaxnnError(f"sentence_length must be >= 1 or None; got {sentence_length!r}")
    s = min(int(support), V - 1)
    rng = np.random.default_rng(seed)
    # column 0: the sentence mark (word 0); then s distinct words of 1 … V−1 per context, an
    # arithmetic progression mod V − 1 with a step coprime to V − 1
    steps = np.array([d for d in range(1, max(V - 1, 2)) if np.gcd(d, V - 1) == 1])
    offset = rng.integers(0, V - 1, size=(S, 1))
    step = rng.choice(steps, size=(S, 1))
    words = 1 + (offset + step * np.arange(s)[None, :]) % (V - 1)
    support_ids = np.concatenate([np.zeros((S, 1), np.int64), words], axis=1).astype(np.int32)
    g = rng.gamma(concentration, size=(S, s))
    g[g.sum(axis=1) == 0, 0] = 1.0  # underflow of every gamma draw: a point mass
    stop = 0.0 if sentence_length is None else 1.0 / sentence_length
    q = np.concatenate([np.full((S, 1), stop), (1 - stop) * g / g.sum(axis=1, keepdims=True)], 1)
    return MarkovSource(make_words(V, sentence_mark=True), k, support_ids, q, smoothing)


class TopicSource:
    """Class-conditional unigram documents: word w of a class-y document has probability

        p_y(w) = (1 − β) b(w) + β θ_y(w),

    b a Zipf-shaped background shared by all classes (1/rank over a random order of the
    words), θ_y ~ Dirichlet(concentration) a sparse class topic, β = ``signal``. Words are
    drawn independently given the class, so multinomial naive Bayes with the true p_y is the
    Bayes classifier (:meth:`bayes_predict`): its accuracy on a large sample estimates the
    best achievable accuracy, below 100% when documents are short or β small.

    Attributes:
        words: the V word strings. class_probs: (n_classes, V) float64, rows p_y.
    """

    def __init__(self, words, class_probs):
        self.words = tuple(words)
        self.class_probs = class_probs
        self.n_classes, self.vocab_size = class_probs.shape

    def documents(self, n_docs: int, min_len: int, max_len: int, seed: int
                  ) -> tuple[list[list[str]], np.ndarray]:
        """n_docs documents: (docs, labels (n_docs,) int32); labels uniform over the classes,
        lengths uniform in [min_len, max_len]."""
        if int(n_docs) != n_docs or n_docs < 1:
            raise JaxnnError(f"n_docs must be a positive integer; got {n_docs!r}")
        if not 1 <= min_len <= max_len:
            raise JaxnnError(f"need 1 <= min_len <= max_len; got {min_len}, {max_len}")
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, self.n_classes, size=int(n_docs)).astype(np.int32)
        lengths = rng.integers(min_len, max_len + 1, size=int(n_docs))
        cdf = np.cumsum(self.class_probs, axis=1)
        cdf[:, -1] = 1.0
        docs = []
        for y, L in zip(labels, lengths):
            ids = np.searchsorted(cdf[y], rng.random(int(L)), side="right")
            docs.append([self.words[i] for i in ids])
        return docs, labels

    def bayes_predict(self, docs: list[list[str]]) -> np.ndarray:
        """The Bayes classifier's labels (n,) int32 (uniform prior, true class probabilities)."""
        index = {w: i for i, w in enumerate(self.words)}
        logp = np.log(self.class_probs)
        out = np.empty(len(docs), dtype=np.int32)
        for j, d in enumerate(docs):
            counts = np.bincount([index[w] for w in d], minlength=self.vocab_size)
            out[j] = int(np.argmax(logp @ counts))
        return out


def topic_source(seed: int, n_classes: int, vocab_size: int, *, signal: float = 0.2,
                 concentration: float = 0.05) -> TopicSource:
    """A random :class:`TopicSource` (β = ``signal`` in (0, 1], Dirichlet ``concentration``)."""
    if int(n_classes) != n_classes or n_classes < 2:
        raise JaxnnError(f"n_classes must be an integer >= 2; got {n_classes!r}")
    if int(vocab_size) != vocab_size or vocab_size < 2:
        raise JaxnnError(f"vocab_size must be an integer >= 2; got {vocab_size!r}")
    if not 0 < signal <= 1:
        raise JaxnnError(f"signal must lie in (0, 1]; got {signal!r}")
    check_positive(concentration, "concentration")
    rng = np.random.default_rng(seed)
    V = int(vocab_size)
    b = 1.0 / (1.0 + rng.permutation(V))
    b /= b.sum()
    g = rng.gamma(concentration, size=(int(n_classes), V))
    g[np.arange(int(n_classes)), rng.integers(0, V, size=int(n_classes))] += 1e-3  # no all-zero row
    theta = g / g.sum(axis=1, keepdims=True)
    return TopicSource(make_words(V), (1.0 - signal) * b[None, :] + signal * theta)


def topic_documents(seed: int, n_docs: int, n_classes: int, vocab_size: int, min_len: int,
                    max_len: int, *, signal: float = 0.2, concentration: float = 0.05
                    ) -> tuple[list[list[str]], np.ndarray]:
    """Documents for the text-classification quick mode (see :class:`TopicSource`).

    Args:
        seed: seeds both the source and the draw.
        n_docs: number of documents. n_classes: >= 2. vocab_size: V >= 2.
        min_len, max_len: document lengths, uniform in [min_len, max_len] tokens.
        signal: β, the class-specific share of each word distribution.
        concentration: Dirichlet parameter of the class topics.

    Returns:
        ``(docs, labels)``: n_docs lists of word strings, labels (n_docs,) int32.
    """
    src = topic_source(seed, n_classes, vocab_size, signal=signal, concentration=concentration)
    return src.documents(n_docs, min_len, max_len, seed + 1)
