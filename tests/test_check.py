"""jaxnn.check: passes correct derivations, names the leaf and index of a slip, float64."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxnn.check as check
from jaxnn.errors import JaxnnError, ShapeError


def _logistic_data(n=7, d=3):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    y = (rng.normal(size=n) > 0).astype(np.float64)
    params = {"layer": {"W": rng.normal(size=(1, d)), "b": rng.normal(size=(1,))}}
    return params, x, y


def _logistic_loss(params, x, y):
    """Mean cross-entropy of ŷ = σ(W x + b) (Qiu eq 88)."""
    z = x @ params["layer"]["W"][0] + params["layer"]["b"][0]
    return jnp.mean(jnp.logaddexp(0.0, z) - y * z)


def _grad_logistic(params, x, y):
    """(1/N) Σ (ŷᵢ − yᵢ) x̂ᵢ (Qiu eq 91)."""
    e = jax.nn.sigmoid(x @ params["layer"]["W"][0] + params["layer"]["b"][0]) - y  # (N,)
    return {"layer": {"W": (e @ x)[None, :] / x.shape[0], "b": jnp.mean(e)[None]}}


def test_passes_on_logistic_regression():
    params, x, y = _logistic_data()
    report = check.assert_gradient(_grad_logistic, _logistic_loss, params, x, y, n_random=2)
    assert report.ok and report.kind == "gradient"
    assert [(r.point, r.path) for r in report.leaves] == [
        (p, f"params['layer']['{k}']") for p in range(3) for k in ("W", "b")]
    assert all(r.fd_method == "coords" and r.fd.ok for r in report.leaves)
    assert max(r.closed.max_rel for r in report.leaves) < 1e-12


def test_slip_in_one_leaf_is_named_with_its_index():
    params, x, y = _logistic_data()

    def slipped(params, x, y):  # a wrong factor on one weight only
        g = _grad_logistic(params, x, y)
        g["layer"]["W"] = g["layer"]["W"].at[0, 2].multiply(2.0)
        return g

    report = check.gradient(slipped, _logistic_loss, params, x, y)
    assert not report.ok
    (bad,) = report.failures
    assert bad.path == "params['layer']['W']" and bad.closed.index == (0, 2)
    assert bad.closed.max_rel == pytest.approx(1.0) and bad.fd.ok  # autodiff and FD agree
    with pytest.raises(AssertionError) as err:
        check.assert_gradient(slipped, _logistic_loss, params, x, y)
    row = next(line for line in str(err.value).splitlines() if "FAIL" in line and "['W']" in line)
    assert "(0, 2)" in row and "1 of 2 rows" in str(err.value)


def test_missing_minus_sign():
    params, x, y = _logistic_data()

    def wrong_sign(params, x, y):  # the feed-forward notes' y − ŷ instead of ŷ − y, bias only
        g = _grad_logistic(params, x, y)
        return {"layer": {"W": g["layer"]["W"], "b": -g["layer"]["b"]}}

    report = check.gradient(wrong_sign, _logistic_loss, params, x, y)
    assert [r.path for r in report.failures] == ["params['layer']['b']"]
    assert report.failures[0].closed.max_rel == pytest.approx(2.0)


def test_argnums_tuple_and_int_name_the_arguments():
    def f(w, b, x):
        return jnp.sum(jnp.tanh(x @ w + b))

    def grad_wb(w, b, x):
        d = 1 - jnp.tanh(x @ w + b) ** 2  # (N,)
        return x.T @ d, jnp.sum(d)

    def grad_x(w, b, x):
        return (1 - jnp.tanh(x @ w + b) ** 2)[:, None] * w[None, :]

    w, b, x = jnp.array([0.3, -0.2]), 0.1, jnp.asarray(np.random.default_rng(1).normal(size=(4, 2)))
    report = check.assert_gradient(grad_wb, f, w, b, x, argnums=(0, 1))
    assert [r.path for r in report.leaves] == ["w", "b"]
    assert report.leaves[1].shape == ()
    report = check.assert_gradient(grad_x, f, w, b, x, argnums=2)
    assert [r.path for r in report.leaves] == ["x"] and report.leaves[0].shape == (4, 2)
    report = check.assert_gradient(lambda w, b, x: grad_wb(w, b, x)[::-1], f, w, b, x,
                                   argnums=(1, 0))
    assert [r.path for r in report.leaves] == ["b", "w"]
    with pytest.raises(ShapeError, match=re.escape("b: closed form has shape (2,), jax.grad has ()")):
        check.gradient(grad_wb, f, w, b, x, argnums=(1, 0))  # the tuple follows argnums' order


def test_several_points_and_random_points():
    def f(w):
        return jnp.sum(jnp.sin(w))

    def slip(w):  # right only at w = 0: cos 0 = 1
        return jnp.ones_like(w)

    w0, w1 = jnp.zeros(3), jnp.array([0.5, -1.0, 2.0])
    assert check.gradient(slip, f, w0).ok  # a single degenerate point hides the slip
    report = check.gradient(slip, f, points=[(w0,), w1])
    assert [(r.point, r.ok) for r in report.leaves] == [(0, True), (1, False)]
    assert report.failures[0].closed.index == (2,)  # |cos 2 − 1| is the largest
    for key in (jax.random.key(3), jax.random.PRNGKey(3), 3):
        report = check.gradient(slip, f, w0, n_random=2, key=key)
        assert [r.point for r in report.leaves] == [0, 1, 2]
        assert [r.point for r in report.failures] == [1, 2]
    check.assert_gradient(jnp.cos, f, points=[(w0,), (w1,)], n_random=2)
    same = [check.gradient(jnp.cos, f, w1, n_random=2, key=5) for _ in range(2)]
    assert same[0] == same[1] != check.gradient(jnp.cos, f, w1, n_random=2, key=6)  # seeded


def test_softmax_jacobian_and_elementwise_diag():
    z = jnp.array([0.5, -1.0, 2.0, 0.0])

    def jac_softmax(z):  # diag(y) − y yᵀ (Qiu eq 44)
        y = jax.nn.softmax(z)
        return jnp.diag(y) - jnp.outer(y, y)

    report = check.assert_jacobian(jac_softmax, jax.nn.softmax, z, n_random=2)
    assert report.kind == "jacobian" and report.leaves[0].shape == (4, 4)
    check.assert_jacobian(lambda z: jnp.diag(1 - jnp.tanh(z) ** 2), jnp.tanh, z)
    big = check.assert_jacobian(lambda z: jnp.diag(1 - jnp.tanh(z) ** 2), jnp.tanh,
                                jnp.linspace(-2.0, 2.0, 100))  # J v along random directions
    assert big.leaves[0].fd_method == "8 dirs" and big.leaves[0].shape == (100, 100)
    report = check.jacobian(lambda z: jnp.diag(jax.nn.softmax(z)), jax.nn.softmax, z)  # no −yyᵀ
    assert not report.ok and report.failures[0].fd.ok
    with pytest.raises(AssertionError, match="jacobian check FAILED"):
        report.assert_ok()


def test_finite_differences_catch_a_wrong_autodiff_rule():
    """A wrong custom JVP fools the closed form-vs-autodiff comparison, not the FD one."""

    @jax.custom_jvp
    def square(x):
        return x**2

    square.defjvp(lambda primals, tangents: (square(primals[0]), 3 * primals[0] * tangents[0]))

    def f(x):
        return jnp.sum(square(x))

    for n, method in [(5, "coords"), (200, "8 dirs")]:
        x = jnp.linspace(0.5, 1.5, n)
        report = check.gradient(lambda x: 3 * x, f, x)  # matches the (wrong) autodiff
        (row,) = report.leaves
        assert row.closed.ok and not row.fd.ok and row.fd_method == method and not report.ok
        assert check.gradient(lambda x: 2 * x, lambda x: jnp.sum(x**2), x).leaves[0].fd_method == method
        assert check.gradient(lambda x: 2 * x, lambda x: jnp.sum(x**2), x).ok


def test_kink_needs_fd_off():
    relu = lambda x: jnp.sum(jnp.where(x > 0, x, 0.0))  # noqa: E731
    zero = jnp.zeros(2)
    assert not check.gradient(jnp.zeros_like, relu, zero).ok  # central FD gives ½ at the kink
    report = check.assert_gradient(jnp.zeros_like, relu, zero, fd=False, rtol=0, atol=0)
    assert report.leaves[0].fd is None and report.leaves[0].fd_method == "off"


def test_float64_inside_float32_outside():
    seen = []

    def closed(w, labels):
        seen.append((w.dtype, labels.dtype))
        return 2 * w

    w = jnp.asarray([1.0, 2.0], jnp.float32)
    check.assert_gradient(closed, lambda w, labels: jnp.sum(w**2) + 0 * jnp.sum(labels), w,
                          jnp.array([0, 1]))
    assert seen[0][0] == jnp.float64 and jnp.issubdtype(seen[0][1], jnp.integer)
    assert jnp.zeros(1).dtype == jnp.float32  # x64 was only on for the check


def test_mismatched_structure_and_shapes_name_the_path():
    params, x, y = _logistic_data()

    def missing_b(params, x, y):
        return {"layer": {"W": _grad_logistic(params, x, y)["layer"]["W"]}}

    with pytest.raises(ShapeError, match=re.escape("missing [\"params['layer']['b']\"]")):
        check.gradient(missing_b, _logistic_loss, params, x, y)

    def column_b(params, x, y):
        g = _grad_logistic(params, x, y)
        g["layer"]["b"] = g["layer"]["b"][:, None]
        return g

    with pytest.raises(ShapeError, match=re.escape("params['layer']['b']: closed form has shape "
                                                   "(1, 1), jax.grad has (1,)")):
        check.gradient(column_b, _logistic_loss, params, x, y)
    with pytest.raises(ShapeError, match="pytree differs"):  # a list where jax.grad gives a tuple
        check.gradient(lambda a, b: [b, a], lambda a, b: a * b, 1.0, 2.0, argnums=(0, 1))


def test_bad_arguments():
    f, g = (lambda x: jnp.sum(x**2)), (lambda x: 2 * x)
    x = jnp.ones(3)
    with pytest.raises(ShapeError, match=r"scalar; f returns \(3,\).*jacobian"):
        check.gradient(g, lambda x: x**2, x)
    with pytest.raises(ShapeError, match="one array"):
        check.jacobian(g, lambda x: (x, x), x)
    with pytest.raises(JaxnnError, match=r"argnums.*\[0, 1\).*1"):
        check.gradient(g, f, x, argnums=1)
    with pytest.raises(JaxnnError, match="fd_eps must be > 0; got 0"):
        check.gradient(g, f, x, fd_eps=0)
    with pytest.raises(JaxnnError, match="either args or points"):
        check.gradient(g, f, x, points=[(x,)])
    with pytest.raises(JaxnnError, match="unknown option.*'fd_step'.*fd_eps"):
        check.gradient(g, f, x, fd_step=1e-5)


def test_report_table_lists_every_row():
    params, x, y = _logistic_data()
    text = str(check.gradient(_grad_logistic, _logistic_loss, params, x, y, n_random=1))
    lines = text.splitlines()
    assert lines[0].startswith("gradient check ok") and "rtol 1e-10" in lines[0]
    assert lines[1].split()[:3] == ["point", "leaf", "shape"] and len(lines) == 2 + 4
    assert lines[-1].split()[:3] == ["1", "params['layer']['b']", "(1,)"]


def test_module_docstring_example_runs(capsys):
    code = check.__doc__.split("::\n", 1)[1].split("\n\n", 1)[0]
    exec(compile("\n".join(line[4:] for line in code.splitlines()), "example", "exec"), {})
    assert "gradient check ok" in capsys.readouterr().out
