"""Closed-form Jacobians (Qiu eq 33–44) and loss gradients vs jax.jacobian / jax.grad and
central differences, float64, through :mod:`jaxnn.check`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
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
    check.assert_jacobian(lambda x: V.jacobian_elementwise(act.prime, x), act.fn, xs, **TIGHT)


def test_sigmoid_jacobian_eq38(xs):
    check.assert_jacobian(V.jacobian_sigmoid, A.sigmoid, xs, n_random=2, **TIGHT)


def test_softmax_jacobian_eq44(xs):
    check.assert_jacobian(V.jacobian_softmax, A.softmax, xs, n_random=2, **TIGHT)
    J = V.jacobian_softmax(xs)
    np.testing.assert_allclose(J, J.T, atol=1e-15)  # symmetric
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # softmax sums to 1


def test_softmax_jacobian_extreme_logits_finite(x64):
    z = jnp.array([1e4, -1e4, 0.0], jnp.float64)
    check.assert_jacobian(V.jacobian_softmax, A.softmax, z, **TIGHT)
    assert jnp.all(jnp.isfinite(V.jacobian_softmax(z)))


def test_log_softmax_jacobian(xs):
    check.assert_jacobian(V.jacobian_log_softmax, A.log_softmax, xs, n_random=2, **TIGHT)


def test_vector_rules_eq29_31(xs):
    """∂x/∂x = I, ∂(Ax)/∂x = Aᵀ in the notes' layout = A in jax's (numerator) layout."""
    A_ = jnp.asarray(np.random.default_rng(1).normal(size=(4, 6)), jnp.float64)
    check.assert_jacobian(lambda x: jnp.eye(6), lambda x: x, xs, n_random=1, **TIGHT)
    check.assert_jacobian(lambda x: A_, lambda x: A_ @ x, xs, n_random=1, **TIGHT)


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
    check.assert_gradient(D.grad_squared_error, L.squared_error, z, y, reduction, n_random=2,
                          **TIGHT)


def test_grad_binary_cross_entropy(batch):
    z, _ = batch
    p = jax.nn.sigmoid(z)
    y = (z > 0.3).astype(jnp.float64)
    check.assert_gradient(D.grad_binary_cross_entropy, L.binary_cross_entropy, p, y, **TIGHT)


def test_grad_bce_with_logits_including_zero(batch):
    z, _ = batch
    z = z.at[0, 0].set(0.0)  # the max/abs form would get the gradient wrong exactly here
    y = (jnp.arange(20).reshape(5, 4) % 3 == 0).astype(jnp.float64)
    check.assert_gradient(D.grad_binary_cross_entropy_with_logits,
                          L.binary_cross_entropy_with_logits, z, y, **TIGHT)


def test_grad_cross_entropy_int_and_onehot(batch):
    z, labels = batch
    check.assert_gradient(D.grad_cross_entropy, L.cross_entropy, z, labels, n_random=2, **TIGHT)
    onehot = jax.nn.one_hot(labels, 4, dtype=jnp.float64)
    check.assert_gradient(D.grad_cross_entropy, L.cross_entropy, z, onehot, n_random=2, **TIGHT)
    want = jax.grad(L.cross_entropy)(z, labels)
    # p − onehot, not onehot − p: the feed-forward notes' multiclass gradient lacks the minus
    assert float(want[0, 0]) < 0 and float(want[0, 1]) > 0


def test_grad_cross_entropy_finite_differences(batch):
    """Every coordinate of the (5, 4) logits, autodiff vs FD within half of rel 1e-7, abs 1e-10,
    so that with closed form vs autodiff at TIGHT, closed form vs FD stays within rel 1e-7, abs
    1e-10. A step of 3e-5 (not 1e-6) keeps the rounding error of every coordinate below that."""
    z, labels = batch
    report = check.assert_gradient(D.grad_cross_entropy, L.cross_entropy, z, labels, fd_eps=3e-5,
                                   fd_rtol=5e-8, fd_atol=5e-11, **TIGHT)
    assert report.leaves[0].fd_method == "coords"


def test_grad_nll(batch):
    z, labels = batch
    # nll is defined on log-probabilities (it refuses positive ones), so the extra points are
    # log_softmax of random logits rather than the checker's unconstrained random points
    points = [(A.log_softmax(z + s * jax.random.normal(jax.random.key(s), z.shape, z.dtype)),
               labels) for s in range(3)]
    check.assert_gradient(D.grad_nll, L.nll, points=points, **TIGHT)


def test_grad_hinge_including_kink(x64):
    f = jnp.array([2.0, 0.5, -0.3, 1.0, -1.0], jnp.float64)
    y = jnp.array([1.0, 1.0, -1.0, 1.0, -1.0], jnp.float64)  # y f = 1 at the last two
    # central differences straddle the kink (they give the mean of the one-sided slopes)
    check.assert_gradient(D.grad_hinge, L.hinge, f, y, fd=False, **TIGHT)
    check.assert_gradient(D.grad_hinge, L.hinge, f[:3], y[:3], **TIGHT)  # away from it
    np.testing.assert_allclose(D.grad_hinge(f, y), np.array([0, -1, 1, 0, 0]) / 5)


def test_grad_penalties(x64):
    params = {"W1": jnp.array([[1.5, -2.0], [0.0, 0.3]]), "b1": jnp.array([5.0, -1.0]),
              "cell": {"U": jnp.array([3.0, 0.0]), "V_i": jnp.array([0.2, 0.1])}}
    mask = {"W1": True, "b1": False, "cell": {"U": True, "V_i": False}}
    for m in (mask, None):  # the weights only; every leaf
        check.assert_gradient(lambda p: D.grad_l2_penalty(p, m), lambda p: L.l2_penalty(p, m),
                              params, n_random=1, **TIGHT)
        check.assert_gradient(lambda p: D.grad_l1_penalty(p, m), lambda p: L.l1_penalty(p, m),
                              params, **TIGHT)  # |x|'s FD at 0 is 0
    assert float(jax.grad(L.l1_penalty)(params, mask)["W1"][1, 0]) == 0.0  # sign(0) = 0
    np.testing.assert_array_equal(D.grad_l2_penalty(params, mask)["cell"]["V_i"], 0.0)


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

    def closed(p):
        return jax.tree.map(lambda g, w: g + 2 * lam * w, jax.grad(risk)(p),
                            D.grad_l2_penalty(p, mask))

    mask = {"W": True, "b": False}
    check.assert_gradient(closed, lambda p: L.structural_risk(risk(p), p, lam, mask=mask), params,
                          n_random=2, **TIGHT)
