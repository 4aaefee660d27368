"""Text classifiers: shapes, padding invariance, mask semantics, learning a separable task, the
bag model's gradient (float64, against a hand derivation), and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxnn.check
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import classifiers as clf

V, K = 12, 3

CONFIGS = {
    "bag-mean": clf.BagConfig(V, K, m=6, hidden=(8,)),
    "bag-max": clf.BagConfig(V, K, m=6, pool="max"),
    "bag-bigrams": clf.BagConfig(V, K, m=6, bigrams=5, dropout=0.2, word_dropout=0.2),
    "cnn": clf.CNNConfig(V, K, m=6, widths=(2, 3), maps=4),
    "lstm-last": clf.LSTMConfig(V, K, m=6, hidden_size=5),
    "lstm-mean": clf.LSTMConfig(V, K, m=6, hidden_size=5, cell="gru", readout="mean"),
}


def batch(seed=0, B=4, L=7):
    rng = np.random.default_rng(seed)
    lengths = np.array([L, 1, 3, 5][:B])
    ids = rng.integers(1, V, (B, L)).astype(np.int32)
    mask = np.arange(L)[None, :] < lengths[:, None]
    return jnp.asarray(np.where(mask, ids, 0)), jnp.asarray(mask)


@pytest.mark.parametrize("name", CONFIGS)
def test_shapes_padding_invariance_and_mask_semantics(name, key):
    cfg = CONFIGS[name]
    p = clf.init(key, cfg)
    ids, mask = batch()
    out = clf.apply(p, (ids, mask), config=cfg)
    assert out.shape == (4, K) and out.dtype == jnp.float32
    assert np.all(np.isfinite(out))
    assert p["C"].shape == (V + getattr(cfg, "bigrams", 0), 6)
    pm = clf.penalty_mask(cfg)
    assert jax.tree.structure(pm) == jax.tree.structure(p)
    assert pm["C"] is False
    rest = {k: v for k, v in p.items() if k != "C"}
    marked = [leaf.ndim >= 2 for leaf in jax.tree.leaves(rest)]
    assert jax.tree.leaves({k: v for k, v in pm.items() if k != "C"}) == marked  # weights
    J = clf.loss(p, (ids, mask, jnp.array([0, 1, 2, 0])), config=cfg)
    assert J.shape == () and float(J) > 0

    # padding invariance: extra padded positions, whatever ids they hold, change nothing
    junk = jnp.asarray(np.random.default_rng(3).integers(0, V, (4, 5)), jnp.int32)
    longer = (jnp.concatenate([ids, junk], axis=1),
              jnp.concatenate([mask, jnp.zeros((4, 5), bool)], axis=1))
    np.testing.assert_allclose(clf.apply(p, longer, config=cfg), out, rtol=1e-5, atol=1e-6)
    # the masked ids themselves are never read: replace every one of them
    other = jnp.where(mask, ids, (ids + 5) % V)
    np.testing.assert_allclose(clf.apply(p, (other, mask), config=cfg), out, rtol=1e-5,
                               atol=1e-6)
    # a document is classified alone as it is in a batch
    one = clf.apply(p, (ids[2:3, :3], mask[2:3, :3]), config=cfg)
    np.testing.assert_allclose(one, out[2:3], rtol=1e-5, atol=1e-6)

    # mask semantics: unmasking a position changes the output: the mask is what decides, not the pad id
    more = mask.at[1, 1].set(True)
    ids2 = ids.at[1, 1].set(7)
    changed = clf.apply(p, (ids2, more), config=cfg)
    assert float(jnp.max(jnp.abs(changed[1] - out[1]))) > 1e-6
    np.testing.assert_allclose(changed[0], out[0], rtol=1e-5, atol=1e-6)
    # an all-masked row gives the logits of the zero representation, finite
    empty = clf.apply(p, (ids, jnp.zeros_like(mask)), config=cfg)
    assert np.all(np.isfinite(empty))
    np.testing.assert_allclose(empty[0], empty[1], rtol=1e-6, atol=1e-6)


def test_bag_mean_is_the_average_of_the_word_vectors(key):
    cfg = clf.BagConfig(V, K, m=6)
    p = clf.init(key, cfg)
    ids, mask = batch()
    W, b = p["mlp"]["layer1"]["W"], p["mlp"]["layer1"]["b"]
    s = np.asarray(p["C"])[np.asarray(ids[3, :5])].mean(axis=0)
    np.testing.assert_allclose(clf.apply(p, (ids, mask), config=cfg)[3], W @ s + b, rtol=1e-5,
                               atol=1e-6)
    mx = clf.BagConfig(V, K, m=6, pool="max")
    s = np.asarray(p["C"])[np.asarray(ids[3, :5])].max(axis=0)
    np.testing.assert_allclose(clf.apply(p, (ids, mask), config=mx)[3], W @ s + b, rtol=1e-5,
                               atol=1e-6)


def test_hashed_bigrams_and_vocabulary_bigrams():
    ids = jnp.array([[1, 2, 1, 2, 0]], jnp.int32)
    mask = jnp.array([[True, True, True, True, False]])
    b_ids, b_mask = clf.hashed_bigrams(ids, mask, V, 7)
    assert b_ids.shape == (1, 4)
    assert np.all((b_ids >= V) & (b_ids < V + 7))
    assert b_mask.tolist() == [[True, True, True, False]]
    assert int(b_ids[0, 0]) == int(b_ids[0, 2])  # the same pair, the same bucket
    assert clf.bigram_tokens(["a", "b", "c"]) == ["a", "b", "c", "a b", "b c"]
    assert clf.bigram_tokens([]) == []


def test_word_order_reaches_the_bag_only_through_bigrams(key):
    ids = jnp.array([[1, 2, 3, 4], [4, 3, 2, 1]], jnp.int32)
    mask = jnp.ones((2, 4), bool)
    uni = clf.BagConfig(V, K, m=6)
    bi = clf.BagConfig(V, K, m=6, bigrams=11)
    out = clf.apply(clf.init(key, uni), (ids, mask), config=uni)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-5, atol=1e-6)
    out = clf.apply(clf.init(key, bi), (ids, mask), config=bi)
    assert float(jnp.max(jnp.abs(out[0] - out[1]))) > 1e-6


def toy_task(n=128, L=8, seed=0):
    """Class c documents contain word 1 + c somewhere among noise words 4 … V − 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    lengths = rng.integers(2, L + 1, n)
    ids = rng.integers(4, V, (n, L))
    pos = (rng.random(n) * lengths).astype(int)
    ids[np.arange(n), pos] = 1 + y
    mask = np.arange(L)[None, :] < lengths[:, None]
    ids = np.where(mask, ids, 0)
    return jnp.asarray(ids, jnp.int32), jnp.asarray(mask), jnp.asarray(y, jnp.int32)


@pytest.mark.parametrize("name", ["bag-mean", "bag-max", "cnn", "lstm-mean"])
def test_each_model_learns_a_separable_task(name, key):
    cfg = CONFIGS[name]
    data = toy_task()
    p = clf.init(key, cfg)
    opt = optax.adam(0.05)
    state = opt.init(p)

    @jax.jit
    def step(p, state, k):
        J, g = jax.value_and_grad(clf.loss)(p, data, config=cfg, key=k)
        u, state = opt.update(g, state)
        return optax.apply_updates(p, u), state, J

    for i in range(120):
        p, state, J = step(p, state, jax.random.fold_in(key, i))
    test = toy_task(seed=1)
    acc = jnp.mean(jnp.argmax(clf.apply(p, test[:2], config=cfg), -1) == test[2])
    assert float(acc) >= 0.9, (name, float(acc))  # chance: 1/3


def grad_bag_mean(params, ids, mask, y):
    """The derivation for the bag-mean + linear softmax: z = W s + b, s_i = Σ_t m_it C[w_it]/n_i.

    δ = (softmax(z) − onehot(y)) / B; ∂J/∂W = δᵀ s; ∂J/∂b = Σ_i δ_i; ∂J/∂s = δ W; ∂J/∂C is a
    scatter-add: each real token t of document i adds ∂J/∂s_i / n_i to the row of its word.
    """
    C, W, b = (np.asarray(params["C"]), np.asarray(params["mlp"]["layer1"]["W"]),
               np.asarray(params["mlp"]["layer1"]["b"]))
    ids, m, y = np.asarray(ids), np.asarray(mask, float), np.asarray(y)
    B = ids.shape[0]
    n = m.sum(1)
    s = (C[ids] * m[..., None]).sum(1) / n[:, None]
    z = s @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = (p - np.eye(W.shape[0])[y]) / B
    ds = delta @ W
    dC = np.zeros_like(C)
    np.add.at(dC, ids, (m / n[:, None])[..., None] * ds[:, None, :])
    return {"C": dC, "mlp": {"layer1": {"W": delta.T @ s, "b": delta.sum(0)}}}


def test_bag_gradient_float64(x64, key):
    cfg = clf.BagConfig(V, K, m=4, dtype="float64")
    p = clf.init(key, cfg)
    ids, mask = batch()
    y = jnp.array([0, 2, 1, 2])

    def J(params, ids, mask, y):
        return clf.loss(params, (ids, mask, y), config=cfg)

    jaxnn.check.assert_gradient(grad_bag_mean, J, p, ids, mask, y, n_random=2, scale=0.3)


def test_bag_with_hidden_layer_and_bigrams_gradient_matches_differences(x64, key):
    cfg = clf.BagConfig(V, K, m=4, hidden=(5,), activation="tanh", bigrams=3, dtype="float64")
    p = clf.init(key, cfg)
    ids, mask = batch()
    y = jnp.array([0, 2, 1, 2])

    def J(params):
        return clf.loss(params, (ids, mask, y), config=cfg)

    jaxnn.check.assert_gradient(jax.grad(J), J, p)  # autodiff against central differences


def test_bad_input(key):
    cfg = CONFIGS["bag-mean"]
    p = clf.init(key, cfg)
    ids, mask = batch()
    with pytest.raises(JaxnnError, match=f"token id {V}\\b"):
        clf.apply(p, (ids.at[0, 0].set(V), mask), config=cfg)
    with pytest.raises(JaxnnError, match="token id -1"):
        clf.apply(p, (ids.at[0, 6].set(-1), mask), config=cfg)  # even at a masked position
    with pytest.raises(ShapeError, match="mask must have the shape"):
        clf.apply(p, (ids, mask[:, :-1]), config=cfg)
    with pytest.raises(JaxnnError, match="mask must be bool"):
        clf.apply(p, (ids, mask.astype(jnp.int32)), config=cfg)
    with pytest.raises(JaxnnError, match="ids must be integers"):
        clf.apply(p, (ids.astype(jnp.float32), mask), config=cfg)
    with pytest.raises(ShapeError, match="labels must have shape"):
        clf.loss(p, (ids, mask, jnp.zeros(3, jnp.int32)), config=cfg)
    cnn = clf.CNNConfig(V, K, m=6, widths=(3, 9), maps=2)
    with pytest.raises(ShapeError, match="filter width 9 is longer than the padded length L = 7"):
        clf.apply(clf.init(key, cnn), (ids, mask), config=cnn)
    with pytest.raises(JaxnnError, match="dropout with train=True needs a PRNG key"):
        clf.apply(clf.init(key, CONFIGS["bag-bigrams"]), (ids, mask), config=CONFIGS["bag-bigrams"],
                  train=True)
    with pytest.raises(JaxnnError, match="BagConfig.pool"):
        clf.BagConfig(V, K, pool="sum")
    with pytest.raises(JaxnnError, match="num_classes"):
        clf.BagConfig(V, 1)
    with pytest.raises(JaxnnError, match="LSTMConfig.cell"):
        clf.LSTMConfig(V, K, cell="transformer")
    with pytest.raises(JaxnnError, match="config must be"):
        clf.init(key, object())


def test_dropout_is_training_only_and_keyed(key):
    cfg = CONFIGS["bag-bigrams"]
    p = clf.init(key, cfg)
    x = batch()
    a = clf.apply(p, x, config=cfg, key=jax.random.key(1), train=True)
    b = clf.apply(p, x, config=cfg, key=jax.random.key(2), train=True)
    assert float(jnp.max(jnp.abs(a - b))) > 1e-6
    np.testing.assert_array_equal(clf.apply(p, x, config=cfg, key=jax.random.key(1)),
                                  clf.apply(p, x, config=cfg))
