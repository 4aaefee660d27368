"""make_train_step: never retraces, equals the closed-form gradient step, with penalties and
clipping chained into the optimizer."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn_experiments._recurrent import adam_schedule
from jaxnn import optim
from jaxnn.errors import JaxnnError
from jaxnn.train import make_train_step


def _linear_loss(params, batch, key=None):
    """½ mean over samples of ‖W x + b − y‖²."""
    x, y = batch
    r = x @ params["W"].T + params["b"][None, :] - y
    return 0.5 * jnp.mean(jnp.sum(r * r, axis=-1))


def _setup(key, B=8, n_in=3, n_out=2, dtype=jnp.float32):
    k = jax.random.split(key, 4)
    params = {"W": jax.random.normal(k[0], (n_out, n_in), dtype),
              "b": jax.random.normal(k[1], (n_out,), dtype)}
    x = jax.random.normal(k[2], (B, n_in), dtype)
    y = jax.random.normal(k[3], (B, n_out), dtype)
    return params, (x, y)


def _closed_form_grad(params, batch):
    """∂/∂W = (1/B) Σ r xᵀ, ∂/∂b = (1/B) Σ r with r = W x + b − y (eq 132–141 for one layer)."""
    x, y = (np.asarray(a) for a in batch)
    W, b = np.asarray(params["W"]), np.asarray(params["b"])
    r = x @ W.T + b - y
    return {"W": r.T @ x / len(x), "b": r.mean(axis=0)}


def test_step_never_retraces(key):
    params, batch = _setup(key)
    traced = chex.assert_max_traces(_linear_loss, n=1)
    step = make_train_step(traced, optax.sgd(0.1, momentum=0.9))
    state = optax.sgd(0.1, momentum=0.9).init(params)
    for i in range(5):
        x = batch[0] + i  # new values, same shapes: must reuse the compiled step
        params, state, loss, _ = step(params, state, (x, batch[1]), jax.random.key(i))
    assert np.isfinite(loss)


def test_step_is_gradient_descent_with_l2_on_weights_only(key, x64):
    params, batch = _setup(key, dtype=jnp.float64)
    lr, lam = 0.05, 0.3
    opt = optax.chain(optim.l2(lam, mask={"W": True, "b": False}), optax.sgd(lr))
    new, _, loss, aux = make_train_step(_linear_loss, opt)(params, opt.init(params), batch, key)
    g = _closed_form_grad(params, batch)
    # ½λ‖W‖² adds λW to ∂J/∂W and nothing to ∂J/∂b (biases are not penalised)
    np.testing.assert_allclose(new["W"], params["W"] - lr * (g["W"] + lam * params["W"]),
                               rtol=1e-10)
    np.testing.assert_allclose(new["b"], params["b"] - lr * g["b"], rtol=1e-10)
    np.testing.assert_allclose(loss, _linear_loss(params, batch), rtol=1e-12)  # data loss
    assert aux is None


def test_l1_adds_sign_of_weights(key, x64):
    params, batch = _setup(key, dtype=jnp.float64)
    lr, l1 = 0.05, 0.2
    opt = optax.chain(optim.l1(l1, mask={"W": True, "b": False}), optax.sgd(lr))
    new, *_ = make_train_step(_linear_loss, opt)(params, opt.init(params), batch, key)
    g = _closed_form_grad(params, batch)
    np.testing.assert_allclose(new["W"], params["W"] - lr * (g["W"] + l1 * np.sign(params["W"])),
                               rtol=1e-10)


def test_clip_norm_caps_the_update(key, x64):
    params, batch = _setup(key, dtype=jnp.float64)
    batch = (batch[0] * 100, batch[1])  # large gradient
    lr, c = 0.1, 0.5
    opt = optax.chain(optax.clip_by_global_norm(c), optax.sgd(lr))
    new, *_ = make_train_step(_linear_loss, opt)(params, opt.init(params), batch, key)
    delta = optax.tree.norm(jax.tree.map(jnp.subtract, new, params))
    g_norm = optax.tree.norm(_closed_form_grad(params, batch))
    assert g_norm > c
    np.testing.assert_allclose(delta, lr * c, rtol=1e-10)


def test_has_aux_and_key_reach_the_loss(key):
    params, batch = _setup(key)

    def loss(p, b, k):
        noise = jax.random.normal(k, ())
        return _linear_loss(p, b), {"noise": noise}

    step = make_train_step(loss, optax.sgd(0.0), has_aux=True)
    s = optax.sgd(0.0).init(params)
    _, _, _, aux1 = step(params, s, batch, jax.random.key(1))
    _, _, _, aux2 = step(params, s, batch, jax.random.key(2))
    np.testing.assert_allclose(aux1["noise"], jax.random.normal(jax.random.key(1), ()))
    assert aux1["noise"] != aux2["noise"]


def test_two_argument_loss_is_accepted(key):
    params, batch = _setup(key)
    two = lambda p, b: _linear_loss(p, b)  # noqa: E731
    a = make_train_step(two, optax.sgd(0.1))(params, optax.sgd(0.1).init(params), batch, key)
    b = make_train_step(_linear_loss, optax.sgd(0.1))(params, optax.sgd(0.1).init(params), batch,
                                                      key)
    chex.assert_trees_all_close(a[0], b[0])


def test_jit_equals_no_jit(key):
    params, batch = _setup(key)
    opt = optax.chain(optim.l2(0.1, mask=None), optax.sgd(0.1, momentum=0.9))
    a = make_train_step(_linear_loss, opt)(params, opt.init(params), batch, key)
    b = make_train_step(_linear_loss, opt, jit=False)(params, opt.init(params), batch, key)
    chex.assert_trees_all_close(a[:3], b[:3], rtol=1e-6)


@pytest.mark.parametrize("make, bad", [(lambda: optim.l2(-0.1, mask=None), "-0.1"),
                                       (lambda: optim.l1(-2.0, mask=None), "-2.0"),
                                       (lambda: adam_schedule(1e-3, 10, clip_norm=0.0), "0.0")])
def test_bad_coefficients_raise(make, bad):
    # the penalties and the clipping of the recurrent experiments' chain refuse bad values
    with pytest.raises(JaxnnError, match=bad):
        make()


def test_data_parallel_block_reaches_the_step(key):
    from jaxnn.train import parallel

    params, batch = _setup(key)
    opt = optax.sgd(0.1)
    plain = make_train_step(_linear_loss, opt)(params, opt.init(params), batch, key)
    with parallel.data_parallel(parallel.make_mesh(1)) as mesh:
        step = make_train_step(_linear_loss, opt)
        sharded = step(params, opt.init(params), batch, key)
    chex.assert_trees_all_close(sharded[:3], plain[:3], rtol=1e-6)
    assert sharded[0]["W"].sharding.mesh == mesh
