"""The embedded corpora: exact entropy rate of the Markov source (a known case, and the
empirical cross-entropy of a long sample), tokenizer round trip, topic documents."""

import numpy as np
import pytest

from jaxnn.data import synthetic_text as st
from jaxnn.data.text import Vocabulary, tokenize
from jaxnn.errors import JaxnnError


def test_two_state_chain_known_entropy_rate():
    # order 1, V = 2, point-mass q: p(.|0) = (1-e)[0->1] + e/2, p(.|1) = (1-e)[1->0] + e/2
    e = 0.3
    src = st.MarkovSource(("a", "b"), 1, np.array([[1], [0]], np.int32), np.ones((2, 1)), e)
    a = b = e / 2  # P(0->1) = 1 - e/2 = P(1->0): symmetric, pi = (1/2, 1/2)
    np.testing.assert_allclose(src.stationary, [0.5, 0.5], atol=1e-12)
    p = 1 - a
    H = -(p * np.log(p) + b * np.log(b))
    np.testing.assert_allclose(src.entropy_rate(), H, rtol=1e-12)
    np.testing.assert_allclose(src.perplexity(), np.exp(H), rtol=1e-12)


def test_asymmetric_two_state_stationary():
    # P(0->1) = alpha, P(1->0) = beta: pi = (beta, alpha) / (alpha + beta)
    e = 0.5
    q = np.array([[1.0, 0.0], [0.5, 0.5]])
    src = st.MarkovSource(("a", "b"), 1, np.array([[1, 0], [0, 1]], np.int32), q, e)
    alpha = (1 - e) * 1.0 + e / 2
    beta = (1 - e) * 0.5 + e / 2
    pi = np.array([beta, alpha]) / (alpha + beta)
    np.testing.assert_allclose(src.stationary, pi, rtol=1e-10)
    h = lambda x: -(x * np.log(x) + (1 - x) * np.log(1 - x))  # noqa: E731
    np.testing.assert_allclose(src.entropy_rate(), pi[0] * h(alpha) + pi[1] * h(beta), rtol=1e-10)


def test_distributions_sum_to_one_and_match_logprob():
    src = st.markov_source(0, 30, order=2)
    x = src.sample(200, seed=1)
    for t in (2, 50, 199):
        p = src.distribution(x[t - 2:t])
        assert p.shape == (30,) and abs(p.sum() - 1) < 1e-12 and p.min() > 0
        np.testing.assert_allclose(src.logprob(x, start=t)[0], np.log(p[x[t]]), rtol=1e-12)
    H = src.context_entropies()
    assert np.all(H > 0) and np.all(H < np.log(30))


def test_empirical_cross_entropy_converges_to_entropy_rate():
    src = st.markov_source(3, 40, order=2)
    x = src.sample(100_000, seed=5)
    assert x.dtype == np.int32 and x.shape == (100_000,) and x.min() >= 0 and x.max() < 40
    emp = -src.logprob(x).mean()
    H = src.entropy_rate()
    assert abs(emp - H) < 0.02, (emp, H)
    assert H < np.log(40) - 0.5  # sparse: much less than uniform
    unigram = np.bincount(x, minlength=40) / x.size
    assert H < -(unigram * np.log(unigram + 1e-300)).sum()  # context helps


def test_sample_is_seeded_and_sources_differ():
    a = st.markov_source(0, 20)
    np.testing.assert_array_equal(a.sample(500, 1), a.sample(500, 1))
    assert not np.array_equal(a.sample(500, 1), a.sample(500, 2))
    assert a.entropy_rate() != st.markov_source(1, 20).entropy_rate()


def test_words_and_text_round_trip_through_tokenizer():
    src = st.markov_source(0, 300, order=1)
    assert len(set(src.words)) == 300 and src.words[0] == "."
    assert all(w.isalpha() for w in src.words[1:])
    assert len(set(st.make_words(6000))) == 6000
    s = src.text(300, seed=2)
    assert isinstance(s, str) and "." in s
    toks = tokenize(s)
    assert toks == src.decode(src.sample(300, seed=2))
    v = Vocabulary.build(toks)
    assert v.decode(v.encode(toks)) == toks


def test_order_zero_is_iid():
    src = st.markov_source(0, 10, order=0)
    assert src.stationary.shape == (1,)
    p = src.distribution([])
    np.testing.assert_allclose(src.entropy_rate(), -(p * np.log(p)).sum(), rtol=1e-12)


def test_markov_bad_inputs():
    with pytest.raises(JaxnnError, match="vocab_size"):
        st.markov_source(0, 1)
    with pytest.raises(JaxnnError, match="order"):
        st.markov_source(0, 10, order=-1)
    with pytest.raises(JaxnnError, match="10\\^6"):
        st.markov_source(0, 1000, order=3)
    with pytest.raises(JaxnnError, match="concentration"):
        st.markov_source(0, 10, concentration=0.0)
    with pytest.raises(JaxnnError, match="positive"):
        st.markov_source(0, 10).sample(0, 1)
    with pytest.raises(JaxnnError, match="context"):
        st.markov_source(0, 10).distribution([1, 10])


def test_topic_documents_learnable_not_trivial():
    docs, y = st.topic_documents(0, 600, 4, 200, 5, 20)
    assert len(docs) == 600 and y.dtype == np.int32 and set(y.tolist()) == {0, 1, 2, 3}
    assert all(5 <= len(d) <= 20 for d in docs)
    src = st.topic_source(0, 4, 200)
    docs2, y2 = src.documents(600, 5, 20, seed=1)
    assert docs2 == docs and np.array_equal(y2, y)  # topic_documents = source seed, draw seed+1
    acc = (src.bayes_predict(docs) == y).mean()
    assert 0.5 < acc < 1.0, acc  # learnable (chance is 0.25), yet the Bayes rate is < 100%
    np.testing.assert_allclose(src.class_probs.sum(axis=1), 1.0, rtol=1e-12)


def test_topic_bad_inputs():
    with pytest.raises(JaxnnError, match="n_classes"):
        st.topic_documents(0, 10, 1, 20, 1, 5)
    with pytest.raises(JaxnnError, match="min_len"):
        st.topic_documents(0, 10, 2, 20, 6, 5)
    with pytest.raises(JaxnnError, match="n_docs"):
        st.topic_documents(0, 0, 2, 20, 1, 5)
    with pytest.raises(JaxnnError, match="signal"):
        st.topic_documents(0, 10, 2, 20, 1, 5, signal=0.0)


def test_stationary_is_fixed_point_of_dense_chain():
    src = st.markov_source(2, 6, order=2, support=3)
    V, S = 6, 36
    P = np.zeros((S, S))
    for c in range(S):
        a, b = divmod(c, V)
        P[c, b * V + np.arange(V)] = src.distribution([a, b])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    pi = src.stationary
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    Hc = np.array([-(src.distribution(divmod(c, V)) * np.log(src.distribution(divmod(c, V)))).sum()
                   for c in range(S)])
    np.testing.assert_allclose(src.entropy_rate(), pi @ Hc, rtol=1e-12)
