"""Closed-form Jacobians (Qiu eq 33–44) and loss gradients vs jax.jacobian / jax.grad, float64."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.derivations import losses as D
from jaxnn.derivations import vector as V
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn import activations as A
from jaxnn.nn import losses as L

TIGHT = {"rtol": 1e-10, "atol": 1e-13}


@pytest.fixture
def xs(x64):
    rng = np.random.default_rng(0)
    return jnp.asarray(rng.normal(size=6) * 2 + 0.1, jnp.float64)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softplus", "elu", "gelu"])
def test_elementwise_jacobian_is_diag(xs, name):
    act = A.get(name)
    chex.assert_trees_all_close(V.jacobian_elementwise(act.prime, xs), jax.jacobian(act.fn)(xs),
                                **TIGHT)


def test_sigmoid_jacobian_eq38(xs):
    chex.assert_trees_all_close(V.jacobian_sigmoid(xs), jax.jacobian(A.sigmoid)(xs), **TIGHT)


def test_softmax_jacobian_eq44(xs):
    J = V.jacobian_softmax(xs)
    chex.assert_trees_all_close(J, jax.jacobian(A.softmax)(xs), **TIGHT)
    np.testing.assert_allclose(J, J.T, atol=1e-15)  # symmetric
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # softmax sums to 1


def test_softmax_jacobian_extreme_logits_finite(x64):
    z = jnp.array([1e4, -1e4, 0.0], jnp.float64)
    chex.assert_trees_all_close(V.jacobian_softmax(z), jax.jacobian(A.softmax)(z), **TIGHT)
    assert jnp.all(jnp.isfinite(V.jacobian_softmax(z)))


def test_log_softmax_jacobian(xs):
    chex.assert_trees_all_close(V.jacobian_log_softmax(xs), jax.jacobian(A.log_softmax)(xs), **TIGHT)


def test_vector_rules_eq29_31(xs):
    """∂x/∂x = I, ∂(Ax)/∂x = Aᵀ in the notes' layout = A in jax's (numerator) layout."""
    A_ = jnp.asarray(np.random.default_rng(1).normal(size=(4, 6)), jnp.float64)
    np.testing.assert_allclose(jax.jacobian(lambda x: x)(xs), np.eye(6))
    np.testing.assert_allclose(jax.jacobian(lambda x: A_ @ x)(xs).T, A_.T)


def test_jacobians_reject_matrices():
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        V.jacobian_softmax(jnp.ones((2, 3)))


# --------------------------------------------------------------------------- loss gradients


@pytest.fixture
def batch(x64):
    rng = np.random.default_rng(2)
    z = jnp.asarray(rng.normal(size=(5, 4)) * 3, jnp.float64)
    labels = jnp.array([0, 3, 1, 1, 2])
    return z, labels


@pytest.mark.parametrize("reduction", ["half_sum", "sum", "mean"])
def test_grad_squared_error(batch, reduction):
    z, _ = batch
    y = jnp.cos(z)
    chex.assert_trees_all_close(D.grad_squared_error(z, y, reduction),
                                jax.grad(L.squared_error)(z, y, reduction), **TIGHT)


def test_grad_binary_cross_entropy(batch):
    z, _ = batch
    p = jax.nn.sigmoid(z)
    y = (z > 0.3).astype(jnp.float64)
    chex.assert_trees_all_close(D.grad_binary_cross_entropy(p, y),
                                jax.grad(L.binary_cross_entropy)(p, y), **TIGHT)


def test_grad_bce_with_logits_including_zero(batch):
    z, _ = batch
    z = z.at[0, 0].set(0.0)  # the max/abs form would get the gradient wrong exactly here
    y = (jnp.arange(20).reshape(5, 4) % 3 == 0).astype(jnp.float64)
    chex.assert_trees_all_close(D.grad_binary_cross_entropy_with_logits(z, y),
                                jax.grad(L.binary_cross_entropy_with_logits)(z, y), **TIGHT)


def test_grad_cross_entropy_int_and_onehot(batch):
    z, labels = batch
    want = jax.grad(L.cross_entropy)(z, labels)
    chex.assert_trees_all_close(D.grad_cross_entropy(z, labels), want, **TIGHT)
    onehot = jax.nn.one_hot(labels, 4, dtype=jnp.float64)
    chex.assert_trees_all_close(D.grad_cross_entropy(z, onehot),
                                jax.grad(L.cross_entropy)(z, onehot), **TIGHT)
    # p − onehot, not onehot − p: the feed-forward notes' multiclass gradient lacks the minus
    assert float(want[0, 0]) < 0 and float(want[0, 1]) > 0


def test_grad_cross_entropy_finite_differences(batch):
    z, labels = batch
    g = D.grad_cross_entropy(z, labels)
    h = 1e-6
    for i, j in [(0, 0), (2, 3), (4, 1)]:
        e = jnp.zeros_like(z).at[i, j].set(h)
        fd = (L.cross_entropy(z + e, labels) - L.cross_entropy(z - e, labels)) / (2 * h)
        assert float(g[i, j]) == pytest.approx(float(fd), rel=1e-7, abs=1e-10)


def test_grad_nll(batch):
    z, labels = batch
    lp = A.log_softmax(z)
    chex.assert_trees_all_close(D.grad_nll(lp, labels), jax.grad(L.nll)(lp, labels), **TIGHT)


def test_grad_hinge_including_kink(x64):
    f = jnp.array([2.0, 0.5, -0.3, 1.0, -1.0], jnp.float64)
    y = jnp.array([1.0, 1.0, -1.0, 1.0, -1.0], jnp.float64)  # y f = 1 at the last two
    chex.assert_trees_all_close(D.grad_hinge(f, y), jax.grad(L.hinge)(f, y), **TIGHT)
    np.testing.assert_allclose(D.grad_hinge(f, y), np.array([0, -1, 1, 0, 0]) / 5)


def test_grad_penalties(x64):
    params = {"W1": jnp.array([[1.5, -2.0], [0.0, 0.3]]), "b1": jnp.array([5.0, -1.0]),
              "cell": {"U": jnp.array([3.0, 0.0]), "V_i": jnp.array([0.2, 0.1])}}
    chex.assert_trees_all_close(D.grad_l2_penalty(params), jax.grad(L.l2_penalty)(params), **TIGHT)
    chex.assert_trees_all_close(D.grad_l1_penalty(params), jax.grad(L.l1_penalty)(params), **TIGHT)
    assert float(jax.grad(L.l1_penalty)(params)["W1"][1, 0]) == 0.0  # sign(0) = 0


def test_grad_validates_like_the_loss():
    with pytest.raises(JaxnnError, match=r"\[0, 4\)"):
        D.grad_cross_entropy(jnp.ones((2, 4)), jnp.array([0, 4]))


def test_structural_risk_gradient_eq50(x64):
    """∂(R + λ‖θ‖²)/∂W = ∂R/∂W + 2λW (no ½ in eq 50), biases unpenalised."""
    params = {"W": jnp.array([[0.5, -1.0], [2.0, 0.1]]), "b": jnp.array([0.3, -0.2])}
    x = jnp.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.0]])
    y = jnp.array([0, 1, 1])
    lam = 0.3

    def risk(p):
        return L.cross_entropy(x @ p["W"].T + p["b"][None, :], y)

    got = jax.grad(lambda p: L.structural_risk(risk(p), p, lam))(params)
    want = jax.tree.map(lambda g, w: g + 2 * lam * w, jax.grad(risk)(params),
                        D.grad_l2_penalty(params))
    chex.assert_trees_all_close(got, want, **TIGHT)
