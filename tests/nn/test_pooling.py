"""Pooling and trainable subsampling (Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 154–159)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.nn import pooling as PL


def naive_pool(x, size, stride, fn):
    """Loop over every window of every map of every sample."""
    B, P, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    y = np.zeros((B, P, Ho, Wo))
    for b in range(B):
        for p in range(P):
            for i in range(Ho):
                for j in range(Wo):
                    y[b, p, i, j] = fn(x[b, p, i * stride:i * stride + size,
                                         j * stride:j * stride + size])
    return y


@pytest.mark.parametrize("kind,fn", [("max", np.max), ("avg", np.mean), ("sum", np.sum)])
@pytest.mark.parametrize("shape,size,stride", [((2, 3, 8, 6), 2, None), ((1, 2, 7, 9), 3, 2),
                                               ((1, 1, 5, 5), 2, None)])
def test_pool_matches_loops_eq158_159(kind, fn, shape, size, stride):
    x = np.random.default_rng(0).standard_normal(shape)
    got = PL.pool(jnp.asarray(x, jnp.float32), size, stride, kind=kind)
    want = naive_pool(x, size, stride or size, fn)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_pool_1d():
    x = np.random.default_rng(1).standard_normal((2, 3, 9))
    got = PL.max_pool(jnp.asarray(x, jnp.float32), 3)
    np.testing.assert_allclose(np.asarray(got), x.reshape(2, 3, 3, 3).max(-1), rtol=1e-6)
    got = PL.avg_pool(jnp.asarray(x, jnp.float32), 2, 1)
    np.testing.assert_allclose(np.asarray(got), (x[..., 1:] + x[..., :-1]) / 2, rtol=1e-5)


def test_upsample_repeats_each_value():
    d = jnp.arange(6.0).reshape(1, 1, 2, 3)
    up = np.asarray(PL.upsample(d, 2))
    assert up.shape == (1, 1, 4, 6)
    for i in range(4):
        for j in range(6):
            assert up[0, 0, i, j] == d[0, 0, i // 2, j // 2]


@pytest.mark.parametrize("kind", ["avg", "sum"])
def test_trainable_subsampling_eq155(kind):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 6, 6))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    fn = np.mean if kind == "avg" else np.sum
    want = naive_pool(x, 2, 2, fn) * w[None, :, None, None] + b[None, :, None, None]
    params = {"w": jnp.asarray(w, jnp.float32), "b": jnp.asarray(b, jnp.float32)}
    z = PL.subsample(params, jnp.asarray(x, jnp.float32), kind=kind)
    np.testing.assert_allclose(np.asarray(z), want, rtol=1e-5, atol=1e-5)
    zj = jax.jit(lambda p, x: PL.subsample(p, x, kind=kind))(params, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(np.asarray(zj), np.asarray(z), rtol=1e-6)


def test_init_subsample_starts_as_down():
    p = PL.init_subsample(3)
    x = jnp.asarray(np.random.default_rng(3).standard_normal((1, 3, 4, 4)), jnp.float32)
    np.testing.assert_allclose(np.asarray(PL.subsample(p, x)), np.asarray(PL.down(x)), rtol=1e-6)


def test_bad_input_messages():
    with pytest.raises(ShapeError, match=r"multiples of \(2, 2\); got maps \(7, 7\)"):
        PL.down(jnp.zeros((1, 6, 7, 7)))
    with pytest.raises(ShapeError, match=r"window \(5, 5\) is larger than the feature maps \(4, 4\)"):
        PL.max_pool(jnp.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(ShapeError, match=r"weight w.*\(3\).*\(4,\)"):
        PL.subsample({"w": jnp.ones(4), "b": jnp.zeros(4)}, jnp.zeros((1, 3, 4, 4)))
    with pytest.raises(JaxnnError, match="'median'"):
        PL.pool(jnp.zeros((1, 1, 4, 4)), kind="median")
    with pytest.raises(ShapeError, match=r"\(B, P, \*spatial\).*\(4, 4\)"):
        PL.pool(jnp.zeros((4, 4)))


@pytest.mark.parametrize("kind,stride", [("max", None), ("avg", 1), ("sum", None)])
def test_channels_last_equals_transposed_channels_first(kind, stride):
    x = jnp.asarray(np.random.default_rng(4).standard_normal((2, 3, 6, 4)), jnp.float32)
    want = PL.pool(x, 2, stride, kind=kind)
    got = PL.pool(jnp.moveaxis(x, 1, -1), 2, stride, kind=kind, channels_last=True)
    np.testing.assert_allclose(np.asarray(jnp.moveaxis(got, -1, 1)), np.asarray(want), rtol=1e-6)
    p = {"w": jnp.asarray([0.5, -1.0, 2.0]), "b": jnp.asarray([0.1, 0.2, 0.3])}
    z = PL.subsample(p, jnp.moveaxis(x, 1, -1), channels_last=True)
    np.testing.assert_allclose(np.asarray(jnp.moveaxis(z, -1, 1)),
                               np.asarray(PL.subsample(p, x)), rtol=1e-6)
    with pytest.raises(ShapeError, match=r"got maps \(3, 4\)"):
        PL.down(jnp.moveaxis(x, 1, -1)[:, :3], channels_last=True)


@pytest.mark.parametrize("kind", ["avg", "sum"])
@pytest.mark.parametrize("shape,size,channels_last", [
    ((2, 3, 8), 2, False), ((2, 8, 3), (4,), True),          # 1-D
    ((2, 3, 8, 6), (2, 3), False), ((2, 8, 6, 3), 2, True),  # 2-D, LeNet-5's layout last
    ((1, 2, 4, 6, 2), 2, False), ((1, 4, 4, 4, 2), (2, 4, 2), True),  # 3-D; 16 positions
    ((1, 2, 10, 10), 5, False),                               # 25 positions: the reduction
])
def test_exact_tiling_by_slices_equals_the_reduction(x64, monkeypatch, kind, shape, size,
                                                     channels_last):
    """Exact average/sum tilings are added up from contiguous slices of a reshaped view; the
    values and the gradient (every input gets its window's cotangent, /|R| for "avg") must be
    those of the reshape-and-reduce form, which a window over the limit still uses."""
    x = jnp.asarray(np.random.default_rng(3).standard_normal(shape))
    nd = len(shape) - 2
    r = jnp.asarray(np.random.default_rng(4).standard_normal(
        PL.pool(x, size, kind=kind, channels_last=channels_last).shape))

    def loss(x):
        return jnp.sum(r * PL.pool(x, size, kind=kind, channels_last=channels_last))

    got, got_grad = loss(x), jax.grad(loss)(x)
    monkeypatch.setattr(PL, "MAX_SLICED_WINDOW", 0)            # force the reduction
    want, want_grad = loss(x), jax.grad(loss)(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-15)
    # and the gradient is the notes' up(): each input gets its window's value (eq 164-165)
    sizes = size if isinstance(size, tuple) else (size,) * nd
    up = np.moveaxis(np.asarray(r), -1, 1) if channels_last else np.asarray(r)
    for axis, m in zip(range(2, 2 + nd), sizes):
        up = np.repeat(up, m, axis=axis)
    up = np.moveaxis(up, 1, -1) if channels_last else up
    scale = 1 / np.prod(sizes) if kind == "avg" else 1
    np.testing.assert_allclose(got_grad, scale * up, rtol=1e-12)
