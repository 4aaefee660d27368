"""Interpolated modified Kneser–Ney smoothing of any order, in numpy.

Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques for Language Modeling"
(Harvard TR-10-98), section 3 (also Computer Speech and Language 13, 1999). For order k with
history h (its last k−1 words) and h' = h without its oldest word,

    p_k(w | h) = max(a(hw) − D_k(a(hw)), 0) / Σ_x a(hx)  +  γ_k(h) p_{k−1}(w | h'),
    γ_k(h)     = (D_k1 N_1(h•) + D_k2 N_2(h•) + D_k3+ N_3+(h•)) / Σ_x a(hx),

down to p_0(w) = 1/V, the uniform distribution, so every in-vocabulary word — also one never
seen in training — has non-zero probability. ``a`` is the raw count c(hw) at the highest order N
and the continuation count N_1+(•hw) (the number of distinct words seen just before hw) at every
lower order; N_r(h•) is the number of words x with a(hx) = r (r = 3+: ≥ 3). The three discounts
of each order come from its count-of-counts n_1..n_4 (how many k-grams have a = 1..4):

    Y = n_1 / (n_1 + 2 n_2),  D_1 = 1 − 2Y n_2/n_1,  D_2 = 2 − 3Y n_3/n_2,  D_3+ = 3 − 4Y n_4/n_3.

On a tiny corpus a formula can be undefined (some n_r = 0) or give D_r ≤ 0, and then some
γ(h) would be 0 and words unseen after h would get probability 0. There D_r falls back to Y, the
single absolute discount of Ney, Essen & Kneser 1994 (Y = 1/2 when n_1 = 0), and each D_r is
capped at r, so that 0 < D ≤ a(hw) and every distribution sums to 1 with every word > 0.
A history never seen in training (or seen only at the end of the stream, with no follower) leaves
p_k = p_{k−1}.

Continuation counts ignore the k-grams at the very start of the training stream (no word before
them), as they ignore sentence starts in Chen & Goodman's setting without sentence marks.
"""

from __future__ import annotations

import numpy as np

from jaxnn.models.ngram import NgramCounts, _check_range, _context_ids, count_ngrams

__all__ = ["KneserNey", "kneser_ney", "discounts"]


def discounts(a: np.ndarray) -> np.ndarray:
    """Modified Kneser–Ney discounts from the counts (or continuation counts) of one order.

    Args:
        a: (M,) non-negative integer counts of the distinct k-grams.

    Returns:
        (4,) float64 ``[0, D1, D2, D3+]`` (index = min(count, 3)).
    """
    n = np.array([np.count_nonzero(a == r) for r in range(5)], float)
    Y = n[1] / (n[1] + 2 * n[2]) if n[1] > 0 else 0.5
    D = np.zeros(4)
    for r in (1, 2, 3):
        d = r - (r + 1) * Y * n[r + 1] / n[r] if n[r] > 0 else Y
        D[r] = min(d, r) if d > 0 else Y
    return D


class KneserNey:
    """Interpolated modified Kneser–Ney model; build it with :func:`kneser_ney`.

    Attributes:
        counts: :class:`NgramCounts` of the training stream (order N).
        D: (N, 4) discounts, row k−1 = ``[0, D1, D2, D3+]`` of order k.
        alpha: N arrays (M_k,): max(a − D(a), 0) / Σ_x a(hx) for each k-gram.
        gamma: N arrays (contexts of order k,): the back-off weight γ_k(h).
        total: N arrays (contexts of order k,): Σ_x a(hx) (0 = a history treated as unseen).
    """

    def __init__(self, counts: NgramCounts):
        N, self.counts = counts.order, counts
        D, self.alpha, self.gamma, self.total = [], [], [], []
        for k in range(1, N + 1):
            if k == N:
                a = counts.counts[k - 1]
            else:  # continuation counts: how many distinct (k+1)-grams end with this k-gram
                a = np.bincount(counts.suffix[k], minlength=counts.keys[k - 1].size)
            d = discounts(a)
            ctx, m = counts.context(k), counts.n_contexts(k)
            da = d[np.minimum(a, 3)]
            total = np.bincount(ctx, a, m).astype(float)
            safe = np.where(total > 0, total, 1.0)
            D.append(d)
            self.total.append(total)
            self.alpha.append(np.maximum(a - da, 0.0) / safe[ctx])
            self.gamma.append(np.bincount(ctx, da, m) / safe)
        self.D = np.stack(D)

    @property
    def order(self) -> int:
        return self.counts.order

    def logprob(self, stream, start: int = 0, stop: int | None = None) -> np.ndarray:
        """ln p(w_t | w_{t-N+1..t-1}) for t in [start, stop), (stop − start,) float64.

        Args:
            stream: (T,) ids in [0, V); histories are read from it (they may reach before start).
            start, stop: the scored positions (default: the whole stream).
        """
        c = self.counts
        w, start, stop = _check_range(stream, c.vocab_size, start, stop)
        ids, off = c.lookup(w, start, stop)
        p = np.full(stop - start, 1.0 / c.vocab_size)
        for k in range(1, self.order + 1):
            g = ids[k - 1][off:]
            cid = np.zeros_like(g) if k == 1 else ids[k - 2][off - 1:-1]
            cs = np.maximum(cid, 0)
            seen = (cid >= 0) & (self.total[k - 1][cs] > 0)
            a = np.where(g >= 0, self.alpha[k - 1][np.maximum(g, 0)], 0.0)
            p = np.where(seen, a + self.gamma[k - 1][cs] * p, p)
        return np.log(p)

    def distribution(self, context) -> np.ndarray:
        """p(· | context), (V,) float64 summing to 1; uses the last N−1 words of ``context``."""
        c = self.counts
        cid = [0] + _context_ids(c, context)
        p = np.full(c.vocab_size, 1.0 / c.vocab_size)
        for k in range(1, len(cid) + 1):
            h = cid[k - 1]
            if h < 0 or self.total[k - 1][h] == 0:
                break  # a longer history containing an unseen one is unseen too
            rows = c.followers(k, h)
            p = self.gamma[k - 1][h] * p
            p[c.word(k, rows)] += self.alpha[k - 1][rows]
        return p


def kneser_ney(train, vocab_size: int, order: int = 5) -> KneserNey:
    """Fit interpolated modified Kneser–Ney (Chen & Goodman 1998) of a given order.

    Args:
        train: (T,) integer ids in [0, vocab_size), T ≥ 1.
        vocab_size: V, every id the model can be asked about (unseen ones included).
        order: N ≥ 1 (N = 1: a discounted unigram interpolated with 1/V).

    Returns:
        :class:`KneserNey` with ``logprob(stream, start, stop)`` and ``distribution(context)``.
    """
    return KneserNey(count_ngrams(train, vocab_size, order))
