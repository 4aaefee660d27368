"""n-gram baselines: normalisation, hand-computed probabilities, EM, a Markov source, bad input."""

import collections
import math

import numpy as np
import pytest

from jaxnn.errors import JaxnnError
from jaxnn.metrics import perplexity
from jaxnn.models.kneser_ney import discounts
from jaxnn.models.ngram import count_ngrams, interpolated_trigram, kneser_ney

# a a a a a b b b b c a b a  (ids a=0, b=1, c=2; id 3 = "d" is in the vocabulary, never seen)
TOY = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 0, 1, 0])


def _random_corpus(seed, V=30, T=3000, unseen=(27, 28, 29)):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(V, 0.3))
    p[list(unseen)] = 0
    s = rng.choice(V, size=T, p=p / p.sum())
    return s, rng


def _models(train, valid, V):
    return {"trigram": interpolated_trigram(train, valid, V),
            "kn1": kneser_ney(train, V, 1), "kn2": kneser_ney(train, V, 2),
            "kn3": kneser_ney(train, V, 3), "kn5": kneser_ney(train, V, 5)}


def test_distributions_sum_to_one_and_match_logprob():
    V = 30
    s, rng = _random_corpus(0, V)
    train, valid = s[:2500], s[2500:]
    for name, m in _models(train, valid, V).items():
        for _ in range(60):
            n = int(rng.integers(0, 7))
            ctx = tuple(int(x) for x in rng.integers(0, V, n))  # often unseen, 27..29 never seen
            p = m.distribution(ctx)
            assert p.shape == (V,) and p.dtype == np.float64
            assert abs(p.sum() - 1.0) < 1e-9, (name, ctx, p.sum())
            assert (p > 0).all(), (name, ctx)  # unseen words 27..29 too
        for ctx in [tuple(int(x) for x in train[i:i + 4]) for i in range(0, 2400, 97)]:
            assert abs(m.distribution(ctx).sum() - 1.0) < 1e-9
        # logprob reads the history from the stream, across the train/valid boundary; the first
        # positions (t < order − 1) use the shorter history they have
        order = m.order
        assert order == (3 if name == "trigram" else int(name[2:]))
        for start, stop in [(0, 6), (2495, 2510)]:
            lp = m.logprob(s, start, stop)
            assert lp.shape == (stop - start,) and lp.dtype == np.float64
            for t in range(start, stop):
                p = m.distribution(tuple(s[max(0, t - order + 1):t]))
                assert lp[t - start] == pytest.approx(math.log(p[s[t]]), abs=1e-12)


def test_kneser_ney_toy_by_hand():
    m = kneser_ney(TOY, 4, order=2)
    # bigram counts: aa 4, ab 2, bb 3, bc 1, ca 1, ba 1 -> n1 = 3, n2 = 1, n3 = 1, n4 = 1
    Y = 3 / (3 + 2 * 1)
    D2 = [0.0, 1 - 2 * Y * 1 / 3, 2 - 3 * Y * 1 / 1, 3 - 4 * Y * 1 / 1]  # 0.6, 0.2, 0.6
    np.testing.assert_allclose(m.D[1], D2, atol=1e-12)
    # continuation counts N1+(•w): a after {a, c, b} = 3, b after {a, b} = 2, c after {b} = 1
    # -> n1 = n2 = n3 = 1, n4 = 0: Y = 1/3, D1 = 1/3, D2 = 1, D3+ = 3 − 4Y·0 = 3
    np.testing.assert_allclose(m.D[0], [0.0, 1 / 3, 1.0, 3.0], atol=1e-12)
    gamma1 = (1 / 3 * 1 + 1.0 * 1 + 3.0 * 1) / 6  # 13/18
    p1 = np.array([0.0, 1 / 6, (2 / 3) / 6, 0.0]) + gamma1 / 4
    np.testing.assert_allclose(p1, np.array([13, 25, 21, 13]) / 72, atol=1e-15)
    np.testing.assert_allclose(m.distribution(()), p1, atol=1e-15)
    # context a: aa 4, ab 2 (total 6); γ(a) = (D2·1 + D3+·1) / 6
    pa = 0.8 / 6 * p1
    pa[0] += (4 - 0.6) / 6
    pa[1] += (2 - 0.2) / 6
    np.testing.assert_allclose(m.distribution((0,)), pa, atol=1e-15)
    # context c: ca 1 (total 1); γ(c) = D1
    pc = 0.6 * p1
    pc[0] += 1 - 0.6
    np.testing.assert_allclose(m.distribution((1, 2)), pc, atol=1e-15)
    # the never-seen word d gets γ·γ1/4 > 0; logprob agrees on a stream
    lp = m.logprob(np.array([0, 3, 2, 0]), 1, 4)
    np.testing.assert_allclose(lp, np.log([pa[3], p1[2], pc[0]]), atol=1e-15)


def _reference_kn(train, V, N):
    """Chen & Goodman's recursion written directly over Python Counters."""
    grams = [collections.Counter(tuple(train[t - k + 1:t + 1]) for t in range(k - 1, len(train)))
             for k in range(1, N + 1)]
    a = [collections.Counter({g: 1 for g in grams[k]}) for k in range(N)]
    for k in range(N - 1):  # continuation counts: distinct left extensions
        a[k] = collections.Counter()
        for g in grams[k + 1]:
            a[k][g[1:]] += 1
    a[N - 1] = grams[N - 1]
    D = []
    for k in range(N):
        n = [sum(1 for v in a[k].values() if v == r) for r in range(5)]
        Y = n[1] / (n[1] + 2 * n[2]) if n[1] else 0.5
        d = [r - (r + 1) * Y * n[r + 1] / n[r] if n[r] else Y for r in (1, 2, 3)]
        D.append([0] + [min(x, r) if x > 0 else Y for r, x in zip((1, 2, 3), d)])

    def p(w, h):
        k = len(h) + 1
        lower = 1 / V if k == 1 else p(w, h[1:])
        fol = {g[-1]: v for g, v in a[k - 1].items() if g[:-1] == h and v > 0}
        tot = sum(fol.values())
        if tot == 0:
            return lower
        gam = sum(D[k - 1][min(v, 3)] for v in fol.values()) / tot
        return max(fol.get(w, 0) - D[k - 1][min(fol.get(w, 0), 3)], 0) / tot + gam * lower
    return p, D


@pytest.mark.parametrize("order", [3, 5])
def test_kneser_ney_matches_reference(order):
    rng = np.random.default_rng(1)
    train = [int(x) for x in rng.choice(4, size=120, p=[0.5, 0.3, 0.15, 0.05])]
    ref, D = _reference_kn(train, 5, order)
    m = kneser_ney(np.array(train), 5, order)
    np.testing.assert_allclose(m.D, np.array(D), atol=1e-12)
    for _ in range(40):
        h = tuple(int(x) for x in rng.integers(0, 4, order - 1))
        want = [ref(w, h) for w in range(5)]
        np.testing.assert_allclose(m.distribution(h), want, atol=1e-13)


def test_discounts_formula_and_fallbacks():
    a = np.array([1, 1, 1, 1, 2, 2, 3, 3, 4, 7])  # n1..n4 = 4, 2, 2, 1
    Y = 4 / (4 + 2 * 2)
    np.testing.assert_allclose(discounts(a), [0, 1 - 2 * Y * 2 / 4, 2 - 3 * Y * 2 / 2,
                                              3 - 4 * Y * 1 / 2], atol=1e-15)
    # n1..n4 = 4, 2, 1, 2: the formula gives D3+ = 3 − 4Y·2 = −1 ≤ 0 -> Y
    np.testing.assert_allclose(discounts(np.array([1, 1, 1, 1, 2, 2, 3, 4, 4, 7])),
                               [0, 0.5, 1.25, 0.5], atol=1e-15)
    # n1 = 0: Y = 1/2, D1 undefined -> Y, D2 = 2 − 3Y·1/1, D3+ = 3 − 4Y·0
    np.testing.assert_allclose(discounts(np.array([2, 3, 5])), [0, 0.5, 0.5, 3.0], atol=1e-15)


def test_interpolated_trigram_fixed_weights_by_hand():
    m = interpolated_trigram(TOY, TOY, 4)
    nb = m.bins.size
    m.lambdas[0] = [0.5, 0.5, 0, 0]
    m.lambdas[1:1 + nb] = [0.2, 0.3, 0.5, 0]
    m.lambdas[1 + nb:] = [0.1, 0.2, 0.3, 0.4]
    # unigram counts a 7, b 5, c 1 (of 13); bigram contexts a: aa 4, ab 2; c: ca 1
    # trigram context (a, a): aaa 3, aab 1
    f1 = np.array([7, 5, 1, 0]) / 13
    want = 0.1 / 4 + 0.2 * f1 + 0.3 * np.array([4, 2, 0, 0]) / 6 + 0.4 * np.array([3, 1, 0, 0]) / 4
    np.testing.assert_allclose(m.distribution((0, 0)), want, atol=1e-15)
    # (a, c) never a trigram context -> bigram bin: λ3 = 0, f2(·|c) = [1, 0, 0, 0]
    want = 0.2 / 4 + 0.3 * f1 + 0.5 * np.array([1, 0, 0, 0])
    np.testing.assert_allclose(m.distribution((0, 2)), want, atol=1e-15)
    np.testing.assert_allclose(m.distribution(()), 0.5 / 4 + 0.5 * f1, atol=1e-15)
    lp = m.logprob(np.array([0, 2, 0, 0, 0]), 0, 5)
    np.testing.assert_allclose(
        lp, np.log([0.5 / 4 + 0.5 * f1[0],  # t = 0: no history, the unigram bin
                    0.2 / 4 + 0.3 * f1[2] + 0.5 * 0,  # t = 1: history (a); c never follows a
                    0.2 / 4 + 0.3 * f1[0] + 0.5 * 1,  # t = 2: (a, c) unseen, bigram bin of c
                    0.1 / 4 + 0.2 * f1[0] + 0.3 * 4 / 6 + 0.4 * 0,  # t = 3: (c, a): cab 1
                    0.1 / 4 + 0.2 * f1[0] + 0.3 * 4 / 6 + 0.4 * 3 / 4]), atol=1e-15)


def test_em_weights_raise_validation_likelihood_and_stay_in_the_simplex():
    V = 30
    s, _ = _random_corpus(2, V, T=4000)
    m = interpolated_trigram(s[:3000], s[3000:], V)
    ll = np.array(m.em_loglik)
    assert ll.size > 2
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    assert ll[-1] > ll[0] + 1.0
    assert np.all(m.lambdas >= 0)
    np.testing.assert_allclose(m.lambdas.sum(axis=1), 1.0, atol=1e-12)
    # EM scores the validation stream on its own (its first two tokens with short histories)
    assert m.logprob(s[3000:]).sum() == pytest.approx(ll[-1], rel=1e-12)


def test_markov_source_perplexity_is_recovered():
    """An order-1 Markov source: every model lands just above the source's own perplexity."""
    rng = np.random.default_rng(3)
    V, T, a, b = 20, 60_000, 36_000, 48_000
    A = rng.dirichlet(np.full(V, 0.1), size=V)  # sparse rows, like a language's bigrams
    cum = np.cumsum(A, axis=1)
    u = rng.random(T)
    s = np.zeros(T, np.int64)
    for t in range(1, T):
        s[t] = min(np.searchsorted(cum[s[t - 1]], u[t]), V - 1)
    true = perplexity(np.log(A[s[b - 1:-1], s[b:]]))  # the source's own score of these tokens
    ratios = {name: perplexity(m.logprob(s, b, T)) / true for name, m in [
        ("trigram", interpolated_trigram(s[:a], s[a:b], V)), ("kn2", kneser_ney(s[:a], V, 2)),
        ("kn3", kneser_ney(s[:a], V, 3)), ("kn5", kneser_ney(s[:a], V, 5))]}
    assert all(r > 0.999 for r in ratios.values()), ratios
    assert ratios["trigram"] < 1.015 and ratios["kn2"] < 1.015 and ratios["kn3"] < 1.03, ratios
    # higher orders over a dense 20-word source: the 5-gram contexts are sparse and back off to
    # continuation counts that saturate (almost every left word seen), a known cost of KN there
    assert ratios["kn5"] < 1.15, ratios


def test_counts_are_exact():
    c = count_ngrams(TOY, 4, 3)
    want = collections.Counter(tuple(TOY[t - 2:t + 1]) for t in range(2, TOY.size))
    assert sorted(c.counts[2].tolist()) == sorted(want.values())
    assert c.counts[0].tolist() == [7, 5, 1]


def test_bad_input():
    V = 4
    with pytest.raises(JaxnnError, match="empty"):
        kneser_ney(np.array([], np.int64), V)
    with pytest.raises(JaxnnError, match="id 7"):
        kneser_ney(np.array([0, 1, 7]), V)
    with pytest.raises(JaxnnError, match="id -1"):
        interpolated_trigram(np.array([0, -1]), np.array([0]), V)
    with pytest.raises(JaxnnError, match="order"):
        kneser_ney(TOY, V, order=0)
    with pytest.raises(JaxnnError, match="valid is empty"):
        interpolated_trigram(TOY, np.array([], np.int64), V)
    with pytest.raises(JaxnnError, match="id 9"):
        interpolated_trigram(TOY, np.array([0, 9]), V)
    with pytest.raises(JaxnnError, match="bins"):
        interpolated_trigram(TOY, TOY, V, bins=(0, 1))
    m = kneser_ney(TOY, V, 3)
    with pytest.raises(JaxnnError, match="id 4"):
        m.logprob(np.array([0, 4]), 0, 2)
    with pytest.raises(JaxnnError, match="id 5"):
        m.distribution((0, 5))
    with pytest.raises(JaxnnError, match="start"):
        m.logprob(TOY, 5, 5)
    with pytest.raises(JaxnnError, match="integer"):
        m.logprob(np.array([0.0, 1.0]), 0, 2)
    with pytest.raises(JaxnnError):
        perplexity(np.array([]))
    assert perplexity(np.log([0.5, 0.5])) == pytest.approx(2.0)
