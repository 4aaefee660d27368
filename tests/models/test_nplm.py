"""The NPLM (Bengio et al. 2003): shapes, eq (1) against numpy, the loss, the closed-form
gradient (softmax output δ = softmax(y) − onehot, the C rows by scatter-add) and training."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import check
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import nplm
from jaxnn.optim import l2


def _tiny(direct=True, **kw):
    return nplm.NPLMConfig(7, n=3, m=2, h=3, direct=direct, c_scale=0.5, **kw)


def _batch(cfg, B=5, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.integers(0, cfg.vocab_size, (B, cfg.context)).astype(np.int32)
    c[0] = 1  # a repeated word: its C row gets two contributions (scatter-add)
    t = rng.integers(0, cfg.vocab_size, (B,)).astype(np.int32)
    return jnp.asarray(c), jnp.asarray(t)


def test_configs_and_shapes():
    c1, c9 = nplm.mlp1(100), nplm.mlp9(100)
    assert (c1.n, c1.h, c1.m, c1.direct) == (5, 50, 60, True)
    assert (c9.n, c9.h, c9.m, c9.direct) == (5, 100, 30, False)
    p = jax.eval_shape(lambda: nplm.init(jax.random.key(0), c1))
    shapes = jax.tree.map(lambda v: v.shape, p)
    assert shapes == {"C": (100, 60), "hidden": {"H": (50, 240), "d": (50,)},
                      "output": {"U": (100, 50), "b": (100,)}, "direct": {"W": (100, 240)}}
    assert "direct" not in jax.eval_shape(lambda: nplm.init(jax.random.key(0), c9))
    mask = nplm.penalty_mask(c1)
    assert jax.tree.structure(mask) == jax.tree.structure(p)
    assert mask == {"C": False, "hidden": {"H": True, "d": False},
                    "output": {"U": True, "b": False}, "direct": {"W": True}}
    assert nplm.penalty_mask(c9, decay_C=True)["C"] is True
    assert "direct" not in nplm.penalty_mask(c9)


@pytest.mark.parametrize("bad", [dict(vocab_size=1), dict(n=1), dict(h=0, direct=False),
                                 dict(direct=1), dict(c_scale=0.0), dict(dtype="int32"),
                                 dict(dropout=1.0), dict(dropout=-0.1)])
def test_bad_config(bad):
    with pytest.raises(JaxnnError):
        nplm.NPLMConfig(**{"vocab_size": 10, **bad})


def test_bad_inputs():
    cfg = _tiny()
    p = nplm.init(jax.random.key(0), cfg)
    with pytest.raises(ShapeError, match=r"\(B, 2\)"):
        nplm.apply(p, jnp.zeros((4, 3), jnp.int32), config=cfg)
    with pytest.raises(JaxnnError, match=r"\[0, 7\)"):
        nplm.apply(p, jnp.full((4, 2), 7, jnp.int32), config=cfg)
    with pytest.raises(ShapeError, match="batch size"):
        nplm.loss(p, (jnp.zeros((4, 2), jnp.int32), jnp.zeros((3,), jnp.int32)), config=cfg)
    with pytest.raises(ShapeError, match="shapes"):
        nplm.apply(p, jnp.zeros((4, 2), jnp.int32), config=_tiny(direct=False))


@pytest.mark.parametrize("direct", [True, False])
def test_apply_is_eq1(direct):
    """y = b + W·x + U·tanh(d + H·x) with x the concatenated C rows, oldest word first."""
    cfg = _tiny(direct)
    p = nplm.init(jax.random.key(1), cfg)
    p = jax.tree.map(lambda v: v + 0.1 * jnp.arange(v.size, dtype=v.dtype).reshape(v.shape)
                     / v.size, p)  # non-zero biases
    c, t = _batch(cfg)
    q = jax.tree.map(np.asarray, p)
    x = np.concatenate([q["C"][c[:, j]] for j in range(cfg.context)], axis=1)
    y = q["output"]["b"] + np.tanh(q["hidden"]["d"] + x @ q["hidden"]["H"].T) @ q["output"]["U"].T
    if direct:
        y = y + x @ q["direct"]["W"].T
    got = nplm.apply(p, c, config=cfg)
    np.testing.assert_allclose(got, y, rtol=1e-5, atol=1e-6)
    logp = y - np.log(np.exp(y).sum(1, keepdims=True))
    want = logp[np.arange(len(t)), t]
    np.testing.assert_allclose(nplm.logprob(p, c, t, config=cfg), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nplm.loss(p, (c, t), config=cfg), -want.mean(), rtol=1e-5)
    np.testing.assert_allclose(nplm.evaluate_logprob(p, c, t, config=cfg, batch_size=2), want,
                               rtol=1e-5, atol=1e-6)


def test_loss_is_stable_for_large_logits():
    cfg = _tiny()
    p = nplm.init(jax.random.key(0), cfg)
    p["output"]["b"] = p["output"]["b"].at[3].set(1e4)
    c, t = _batch(cfg)
    t = t.at[:].set(3)
    assert np.isfinite(float(nplm.loss(p, (c, t), config=cfg)))
    assert abs(float(nplm.loss(p, (c, t), config=cfg))) < 1e-3


def _closed_form(cfg):
    """The backprop of eq (1) by hand: δ = (softmax(y) − onehot(t))/B at the output,
    dU = δᵀa, db = Σδ, dW = δᵀx, dz = (δU)⊙(1 − a²), dH = dzᵀx, dd = Σdz,
    dx = δW + dz H, and dC the scatter-add of dx's n − 1 blocks into the rows used."""

    def grad(p, c, t):
        p = jax.tree.map(np.asarray, p)
        c, t = np.asarray(c), np.asarray(t)
        B, V = len(t), cfg.vocab_size
        x = p["C"][c].reshape(B, cfg.features)
        a = np.tanh(p["hidden"]["d"] + x @ p["hidden"]["H"].T)
        y = p["output"]["b"] + a @ p["output"]["U"].T
        if cfg.direct:
            y = y + x @ p["direct"]["W"].T
        s = np.exp(y - y.max(1, keepdims=True))
        s /= s.sum(1, keepdims=True)
        delta = (s - np.eye(V)[t]) / B
        dz = (delta @ p["output"]["U"]) * (1 - a * a)
        dx = dz @ p["hidden"]["H"]
        g = {"hidden": {"H": dz.T @ x, "d": dz.sum(0)},
             "output": {"U": delta.T @ a, "b": delta.sum(0)}}
        if cfg.direct:
            g["direct"] = {"W": delta.T @ x}
            dx = dx + delta @ p["direct"]["W"]
        dC = np.zeros_like(p["C"])
        np.add.at(dC, c.reshape(-1), dx.reshape(B * cfg.context, cfg.m))
        g["C"] = dC
        return g

    return grad


@pytest.mark.parametrize("direct", [True, False])
def test_gradient_closed_form(x64, direct):
    cfg = _tiny(direct, dtype="float64")
    p = nplm.init(jax.random.key(2), cfg)
    c, t = _batch(cfg)
    f = lambda p, c, t: nplm.loss(p, (c, t), config=cfg)  # noqa: E731
    check.assert_gradient(_closed_form(cfg), f, p, c, t, n_random=1, scale=0.3,
                          rtol=1e-9, atol=1e-12)


def test_custom_vjp_matches_autodiff_of_log_softmax(x64):
    """The loss's custom VJP equals jax.grad of −mean(log_softmax(y)[t]) (no custom rule)."""
    cfg = _tiny(dtype="float64")
    p = nplm.init(jax.random.key(3), cfg)
    c, t = _batch(cfg, seed=4)

    def plain(p):
        y = nplm.apply(p, c, config=cfg)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(y), t[:, None], axis=1))

    g1 = jax.grad(lambda p: nplm.loss(p, (c, t), config=cfg))(p)
    g2 = jax.grad(plain)(p)
    for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_training_learns_a_deterministic_sequence():
    """Adam with l2 on the mask drives the loss of a periodic stream towards 0."""
    cfg = nplm.NPLMConfig(11, n=3, m=4, h=8)
    ids = np.arange(200) % 11
    c = jnp.asarray(np.stack([ids[:-2], ids[1:-1]], 1), jnp.int32)
    t = jnp.asarray(ids[2:], jnp.int32)
    p = nplm.init(jax.random.key(0), cfg)
    opt = optax.chain(l2(1e-4, nplm.penalty_mask(cfg)), optax.adam(0.1))
    s = opt.init(p)

    @jax.jit
    def step(p, s):
        g = jax.grad(lambda p: nplm.loss(p, (c, t), config=cfg))(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    l0 = float(nplm.loss(p, (c, t), config=cfg))
    for _ in range(60):
        p, s = step(p, s)
    l1 = float(nplm.loss(p, (c, t), config=cfg))
    assert l0 > 2.0 and l1 < 0.05


def test_nearest_neighbours_cosine():
    from jaxnn.metrics import nearest_neighbours

    C = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [-1.0, 0.0], [2.0, 0.0], [0.0, 0.0]])
    ids, sims = nearest_neighbours(C, np.array([0, 2]), 3)
    assert ids.shape == sims.shape == (2, 3)
    np.testing.assert_array_equal(ids[0], [4, 1, 2])  # 4 is parallel to 0 (cos 1)
    np.testing.assert_allclose(sims[0], [1.0, 1 / np.sqrt(1.01), 0.0])
    assert 2 not in ids[1] and 0 not in ids[0]
    np.testing.assert_allclose(sims[1, 0], 0.1 / np.sqrt(1.01))
    assert np.all(np.diff(sims, axis=1) <= 0)
    with pytest.raises(JaxnnError, match="id 6"):
        nearest_neighbours(C, [6], 2)
    with pytest.raises(JaxnnError, match="k"):
        nearest_neighbours(C, [0], 6)
    with pytest.raises(ShapeError):
        nearest_neighbours(C[0], [0], 1)


def test_dropout_zero_is_the_paper_model_and_rate_drops_x_and_a():
    cfg0, cfg = _tiny(), _tiny(dropout=0.5)
    p = nplm.init(jax.random.key(0), cfg0)
    c, t = _batch(cfg0, B=64)
    k = jax.random.key(3)
    # rate 0 (the default): the key changes nothing
    np.testing.assert_array_equal(nplm.loss(p, (c, t), config=cfg0, key=k),
                                  nplm.loss(p, (c, t), config=cfg0))
    # at evaluation a dropout model is the plain model
    np.testing.assert_array_equal(nplm.apply(p, c, config=cfg), nplm.apply(p, c, config=cfg0))
    with pytest.raises(JaxnnError, match="needs a PRNG key"):
        nplm.loss(p, (c, t), config=cfg)
    x0, a0 = nplm.features(p, c, config=cfg0)
    x, a = nplm.features(p, c, config=cfg, key=k, train=True)
    for dropped in (x, a):
        assert 0.3 < (np.asarray(dropped) == 0).mean() < 0.7  # about half of the entries
    # kept entries of x are scaled by 1/(1 - rate); a is tanh of the dropped x, then dropped
    kept = np.asarray(x) != 0
    np.testing.assert_allclose(np.asarray(x)[kept], 2 * np.asarray(x0)[kept], rtol=1e-6)
    H, d = np.asarray(p["hidden"]["H"]), np.asarray(p["hidden"]["d"])
    a_full = np.tanh(np.asarray(x) @ H.T + d)
    keep_a = np.asarray(a) != 0
    np.testing.assert_allclose(np.asarray(a)[keep_a], 2 * a_full[keep_a], rtol=1e-5, atol=1e-7)
    # a training loss with dropout differs from the evaluation loss, and its gradient is finite
    lt = nplm.loss(p, (c, t), config=cfg, key=k)
    assert lt != nplm.loss(p, (c, t), config=cfg, train=False)
    g = jax.grad(lambda q: nplm.loss(q, (c, t), config=cfg, key=k))(p)
    assert all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree.leaves(g))
