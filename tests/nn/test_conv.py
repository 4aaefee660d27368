"""Convolution (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 145–153) against NumPy loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models.lenet import lenet5_table
from jaxnn.nn import conv as C


def naive_full_convolution(x, f):
    """Eq 146 with zero padding: y[i, j] = Σ_uv f[u, v] x[i−u, j−v] (0-based), wide output."""
    M, N = x.shape
    m, n = f.shape
    y = np.zeros((M + m - 1, N + n - 1))
    for i in range(M + m - 1):
        for j in range(N + n - 1):
            for u in range(m):
                for v in range(n):
                    if 0 <= i - u < M and 0 <= j - v < N:
                        y[i, j] += f[u, v] * x[i - u, j - v]
    return y


def naive_correlation(x, f, pad=((0, 0), (0, 0)), stride=(1, 1)):
    """y[i, j] = Σ_uv f[u, v] x[s·i+u, s·j+v] over the zero-padded x."""
    xp = np.pad(x, pad)
    m, n = f.shape
    H = (xp.shape[0] - m) // stride[0] + 1
    W = (xp.shape[1] - n) // stride[1] + 1
    y = np.zeros((H, W))
    for i in range(H):
        for j in range(W):
            for u in range(m):
                for v in range(n):
                    y[i, j] += f[u, v] * xp[stride[0] * i + u, stride[1] * j + v]
    return y


def slice_mode(full, x_shape, f_shape, mode):
    if mode == "full":
        return full
    if mode == "valid":
        return full[f_shape[0] - 1:x_shape[0], f_shape[1] - 1:x_shape[1]]
    s0, s1 = (f_shape[0] - 1) // 2, (f_shape[1] - 1) // 2
    return full[s0:s0 + x_shape[0], s1:s1 + x_shape[1]]


METHODS = ["xla", "toeplitz"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["valid", "full", "same"])
@pytest.mark.parametrize("fshape", [(3, 3), (2, 4)])
def test_true_convolution_2d_matches_eq146(mode, fshape, method):
    rng = np.random.default_rng(0)
    x, f = rng.standard_normal((6, 7)), rng.standard_normal(fshape)
    want = slice_mode(naive_full_convolution(x, f), x.shape, f.shape, mode)
    got = C.convolve(jnp.asarray(x, jnp.float32), jnp.asarray(f, jnp.float32), mode,
                     method=method)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["valid", "full", "same", "narrow", "wide"])
def test_true_convolution_1d_matches_eq145_and_numpy(mode, method):
    rng = np.random.default_rng(1)
    x, f = rng.standard_normal(9), rng.standard_normal(4)
    np_mode = {"narrow": "valid", "wide": "full"}.get(mode, mode)
    want = np.convolve(x, f, np_mode)
    # eq 145 literally (1-based): y_t = Σ_k f_k x_{t−k+1}, narrow output t = m..n
    if np_mode == "valid":
        lit = [sum(f[k - 1] * x[t - k] for k in range(1, 5)) for t in range(4, 10)]
        np.testing.assert_allclose(want, lit, rtol=1e-12)
    got = C.convolve(jnp.asarray(x, jnp.float32), jnp.asarray(f, jnp.float32), mode,
                     method=method)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_moving_average_filter():
    # the notes: with f_t = 1/m the convolution is the moving average of the signal
    x = jnp.arange(10.0)
    got = C.convolve(x, jnp.full(3, 1 / 3))
    np.testing.assert_allclose(np.asarray(got), np.arange(1.0, 9.0), rtol=1e-6)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", 2), (1, (2, 1)),
                                            (((2, 0), (0, 1)), 1), ("valid", (1, 3))])
def test_correlation_multi_map_matches_loops(padding, stride, method):
    rng = np.random.default_rng(2)
    B, P, K = 2, 3, 4
    x = rng.standard_normal((B, P, 7, 6))
    W = rng.standard_normal((K, P, 3, 2))
    b = rng.standard_normal(K)
    pairs = C.pad_pairs(padding, (3, 2))
    st = C.as_tuple(stride, 2, "stride")
    want = np.stack([np.stack([sum(naive_correlation(x[i, p], W[k, p], pairs, st)
                                   for p in range(P)) + b[k] for k in range(K)])
                     for i in range(B)])
    got = C.conv(jnp.asarray(x, jnp.float32), jnp.asarray(W, jnp.float32),
                 jnp.asarray(b, jnp.float32), padding=padding, kind="correlation", stride=stride,
                 method=method)
    assert got.shape == want.shape == (B, K) + C.output_size((7, 6), (3, 2), padding, stride)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_convolution_is_correlation_with_flipped_kernel_eq152():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 8))
    W = rng.standard_normal((5, 3, 3, 3))
    want = np.stack([np.stack([sum(slice_mode(naive_full_convolution(x[i, p], W[k, p]),
                                              (8, 8), (3, 3), "valid") for p in range(3))
                               for k in range(5)]) for i in range(2)])
    got = C.conv(jnp.asarray(x, jnp.float32), jnp.asarray(W, jnp.float32))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
    flipped = C.conv(jnp.asarray(x, jnp.float32), jnp.asarray(W[:, :, ::-1, ::-1], jnp.float32),
                     kind="correlation")
    np.testing.assert_allclose(np.asarray(flipped), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_conv1d_batched(method):
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal((2, 2, 10)), rng.standard_normal((3, 2, 4))
    want = np.stack([np.stack([sum(np.convolve(x[i, p], W[k, p], "full") for p in range(2))
                               for k in range(3)]) for i in range(2)])
    got = C.conv(jnp.asarray(x, jnp.float32), jnp.asarray(W, jnp.float32), padding="wide",
                 method=method)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def test_connection_table_eq153_drops_unconnected_maps():
    rng = np.random.default_rng(5)
    T = np.array([[1, 0, 1], [0, 1, 1]], bool)  # (P=2, K=3)
    x = rng.standard_normal((1, 2, 6, 6))
    W = rng.standard_normal((3, 2, 3, 3))
    got = np.asarray(C.conv(jnp.asarray(x, jnp.float32), jnp.asarray(W, jnp.float32), table=T,
                            kind="correlation"))
    for k in range(3):
        want = sum(naive_correlation(x[0, p], W[k, p]) for p in range(2) if T[p, k])
        np.testing.assert_allclose(got[0, k], want, rtol=1e-4, atol=1e-4)


PAPER_TABLE = """\
X   XXX  XXXX XX
XX   XXX  XXXX X
XXX   XXX  X XXX
 XXX  XXXX  X XX
  XXX  XXXX XX X
   XXX  XXXX XXX"""


def test_lenet5_table_matches_lecun_1998_table1():
    want = np.array([[c == "X" for c in row] for row in PAPER_TABLE.splitlines()])
    t = lenet5_table()
    assert t.shape == (6, 16) and t.dtype == bool
    np.testing.assert_array_equal(t, want)
    assert t.sum() == 60


def test_table_mask_shape_and_full_connections():
    T = lenet5_table()
    m = np.asarray(C.table_mask(T, 6, 16, 2, jnp.float32))
    assert m.shape == (16, 6, 1, 1) and m.dtype == np.float32
    np.testing.assert_array_equal(m[:, :, 0, 0], T.T.astype(np.float32))
    full = C.table_mask(None, 6, 16, 2, jnp.float32)
    assert full.shape == () and float(full) == 1.0


def test_init_conv_lecun_range_and_mask(key):
    T = lenet5_table()
    p = C.init_conv(key, 6, 16, (5, 5), table=T)
    W = np.asarray(p["W"])
    assert W.shape == (16, 6, 5, 5) and p["b"].shape == (16,)
    assert np.all(W[~T.T] == 0)
    fan_in = T.sum(0) * 25
    assert np.all(np.abs(W).max(axis=(1, 2, 3)) <= 2.4 / fan_in)
    assert np.all(np.abs(W).max(axis=(1, 2, 3)) > 0.5 * 2.4 / fan_in)


def test_jit_equals_no_jit():
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.standard_normal((2, 6, 9, 9)), jnp.float32)
    W = jnp.asarray(rng.standard_normal((16, 6, 5, 5)), jnp.float32)
    f = lambda x, W: C.conv(x, W, table=lenet5_table(), padding="same", stride=2)  # noqa: E731
    np.testing.assert_allclose(np.asarray(jax.jit(f)(x, W)), np.asarray(f(x, W)), rtol=1e-5)


def test_bad_input_messages():
    x = jnp.zeros((1, 2, 4, 4))
    with pytest.raises(ShapeError, match=r"\(5, 5\) is larger than the input \(4, 4\)"):
        C.conv(x, jnp.zeros((3, 2, 5, 5)))
    C.conv(x, jnp.zeros((3, 2, 5, 5)), padding="full")  # fine when padded
    with pytest.raises(ShapeError, match=r"x has 2 input maps.*W expects 3"):
        C.conv(x, jnp.zeros((4, 3, 3, 3)))
    with pytest.raises(ShapeError, match=r"connection table.*\(2, 3\).*\(3, 2\)"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), table=np.ones((3, 2)))
    with pytest.raises(JaxnnError, match=r"output map\(s\) \[1\] are fed by no input map"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), table=np.array([[1, 0, 1], [1, 0, 0]]))
    with pytest.raises(JaxnnError, match="'flipped'"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), kind="flipped")
    with pytest.raises(JaxnnError, match="'wider'"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), padding="wider")
    with pytest.raises(ShapeError, match=r"bias b.*\(3\).*\(2,\)"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), jnp.zeros(2))
    with pytest.raises(JaxnnError, match="stride.*0"):
        C.conv(x, jnp.zeros((3, 2, 3, 3)), stride=0)


def test_channels_last_equals_transposed_channels_first():
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.standard_normal((2, 6, 9, 8)), jnp.float32)
    W = jnp.asarray(rng.standard_normal((16, 6, 3, 2)), jnp.float32)
    b = jnp.asarray(rng.standard_normal(16), jnp.float32)
    want = C.conv(x, W, b, table=lenet5_table(), padding="same", stride=(2, 1))
    got = C.conv(jnp.moveaxis(x, 1, -1), W, b, table=lenet5_table(), padding="same",
                 stride=(2, 1), channels_last=True)
    np.testing.assert_allclose(np.asarray(jnp.moveaxis(got, -1, 1)), np.asarray(want), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(ShapeError, match=r"x has 8 input maps"):
        C.conv(x, W, channels_last=True)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("padding,stride", [("valid", 1), ("same", (2, 1)), ("full", 2)])
def test_toeplitz_equals_xla_values_and_gradients(x64, padding, stride, channels_last):
    # LeNet-5's C3 geometry with its table, plus strides and paddings: the Toeplitz product and
    # XLA's convolution agree in value and in jax.grad w.r.t. input, filters and bias (float64)
    rng = np.random.default_rng(8)
    x = jnp.asarray(rng.standard_normal((3, 6, 14, 13)))
    x = jnp.moveaxis(x, 1, -1) if channels_last else x
    W = jnp.asarray(rng.standard_normal((16, 6, 5, 4)))
    b = jnp.asarray(rng.standard_normal(16))

    def f(method):
        def loss(x, W, b):
            z = C.conv(x, W, b, padding=padding, stride=stride, table=lenet5_table(),
                       channels_last=channels_last, method=method)
            return jnp.sum(jnp.tanh(z) * jnp.cos(jnp.arange(z.size).reshape(z.shape)))
        return loss(x, W, b), jax.grad(loss, argnums=(0, 1, 2))(x, W, b)

    (v_x, g_x), (v_t, g_t) = f("xla"), f("toeplitz")
    np.testing.assert_allclose(float(v_t), float(v_x), rtol=1e-12)
    for a, e in zip(g_t, g_x):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-10, atol=1e-12)


def test_auto_method_choice():
    from jaxnn.nn import conv_toeplitz as T
    on_cpu = jax.default_backend() == "cpu"
    # LeNet-5's layers go to the Toeplitz product on CPU; a wide image with a small filter does
    # not (W_in/n = 64 > 8), nor does a 3-D convolution
    assert T.use_toeplitz((32, 32), 1, (5, 5), 6, (1, 1)) == on_cpu
    assert T.use_toeplitz((14, 14), 6, (5, 5), 16, (1, 1)) == on_cpu
    assert T.use_toeplitz((5, 5), 16, (5, 5), 120, (1, 1)) == on_cpu
    assert not T.use_toeplitz((192, 192), 3, (3, 3), 64, (1, 1))
    assert not T.use_toeplitz((8, 8, 8), 1, (3, 3, 3), 4, (1, 1, 1))
    with pytest.raises(JaxnnError, match="1-D and 2-D"):
        C.conv(jnp.zeros((1, 1, 4, 4, 4)), jnp.zeros((2, 1, 2, 2, 2)), method="toeplitz")
    with pytest.raises(JaxnnError, match="'fft'"):
        C.conv(jnp.zeros((1, 1, 4, 4)), jnp.zeros((2, 1, 2, 2)), method="fft")


@pytest.mark.parametrize("padding,stride", [("valid", 1), ("full", 1), ("same", 2), (2, 3)])
def test_unfold_1d_matches_xla_values_and_gradients(padding, stride):
    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.standard_normal((3, 4, 11)), jnp.float32)
    W = jnp.asarray(rng.standard_normal((5, 4, 3)), jnp.float32)
    b = jnp.asarray(rng.standard_normal(5), jnp.float32)

    def f(method):
        g = lambda x, W: jnp.sum(jnp.sin(C.conv(x, W, b, padding=padding, stride=stride,
                                                method=method)))
        return C.conv(x, W, b, padding=padding, stride=stride, method=method), \
            jax.grad(g, argnums=(0, 1))(x, W)

    (z_u, g_u), (z_x, g_x) = f("unfold"), f("xla")
    np.testing.assert_allclose(np.asarray(z_u), np.asarray(z_x), rtol=1e-5, atol=1e-5)
    for a, e in zip(g_u, g_x):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-5, atol=1e-5)
    with pytest.raises(JaxnnError, match="1-D convolution"):
        C.conv(jnp.zeros((1, 1, 4, 4)), jnp.zeros((2, 1, 2, 2)), method="unfold")


@pytest.mark.parametrize("shape,W_shape", [((2, 12, 11, 3), (4, 3, 3, 5)), ((2, 17, 3), (4, 3, 5))])
def test_toeplitz_bias_in_the_product_equals_added_bias(x64, shape, W_shape):
    # the bias joins the Toeplitz product (a ones column, a row of T); with and without it the
    # product and XLA's convolution agree, and ∂J/∂b is Σ δ over batch and positions
    rng = np.random.default_rng(9)
    x = jnp.asarray(rng.standard_normal(shape))
    W = jnp.asarray(rng.standard_normal(W_shape))
    b = jnp.asarray(rng.standard_normal(W_shape[0]))
    r = jnp.asarray(rng.standard_normal(C.conv(x, W, channels_last=True, method="xla").shape))

    def loss(method, with_bias):
        def f(x, W, b):
            z = C.conv(x, W, b if with_bias else None, channels_last=True, method=method)
            return jnp.sum(r * jnp.tanh(z))
        return f

    for with_bias in (True, False):
        want = jax.value_and_grad(loss("xla", with_bias), argnums=(0, 1, 2))(x, W, b)
        got = jax.value_and_grad(loss("toeplitz", with_bias), argnums=(0, 1, 2))(x, W, b)
        np.testing.assert_allclose(float(got[0]), float(want[0]), rtol=1e-12)
        for a, e in zip(got[1], want[1]):
            np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-10, atol=1e-12)
    z = C.conv(x, W, b, channels_last=True, method="toeplitz")
    delta = r * (1 - jnp.tanh(z) ** 2)
    g_b = jax.grad(loss("toeplitz", True), argnums=2)(x, W, b)
    np.testing.assert_allclose(np.asarray(g_b), np.asarray(delta.reshape(-1, W_shape[0]).sum(0)),
                               rtol=1e-10)
