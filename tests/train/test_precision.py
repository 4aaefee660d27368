import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.data import digits
from jaxnn.errors import JaxnnError
from jaxnn.models import mlp
from jaxnn.train import make_train_step
from jaxnn.train.precision import Policy, check_supported, with_policy


def _train(policy: Policy) -> float:
    ds = digits()
    config = mlp.MLPConfig((64, 64, 10), activation="relu")
    loss = with_policy(functools.partial(mlp.loss, config=config), policy)
    opt = optax.adam(3e-3)
    params = mlp.init(jax.random.key(0), config)
    state = opt.init(params)
    step = make_train_step(loss, opt)
    x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    for i in range(150):
        sl = slice((i * 128) % 1280, (i * 128) % 1280 + 128)
        params, state, _, _ = step(params, state, (x[sl], y[sl]), jax.random.key(i))
    assert params["layer1"]["W"].dtype == jnp.float32  # master weights stay float32
    logits = mlp.apply(params, jnp.asarray(ds.x_test), config=config)
    return float(np.mean(np.argmax(logits, -1) == ds.y_test))


def test_bf16_trains_digits_as_well_as_fp32():
    acc32 = _train(Policy.fp32())
    acc16 = _train(Policy.bf16())
    assert acc32 > 0.93
    assert abs(acc16 - acc32) <= 0.01


def test_bf16_loss_and_grads_are_float32():
    config = mlp.MLPConfig((4, 3, 2), activation="tanh")
    params = mlp.init(jax.random.key(1), config)
    x, y = jnp.ones((5, 4)), jnp.zeros(5, jnp.int32)
    seen = {}

    def loss_fn(p, batch):
        seen["dtype"] = p["layer1"]["W"].dtype
        return mlp.loss(p, batch, config=config)

    wrapped = with_policy(loss_fn, Policy.bf16())
    val, g = jax.value_and_grad(wrapped)(params, (x, y))
    assert seen["dtype"] == jnp.bfloat16  # computed in bf16
    assert val.dtype == jnp.float32 and g["layer1"]["W"].dtype == jnp.float32


def test_unknown_dtype_is_named():
    with pytest.raises(JaxnnError, match="'float8'"):
        with_policy(lambda p, b: 0.0, Policy(compute_dtype="float8"))


def test_backend_support_check():
    check_supported(Policy.bf16(), "cpu")  # XLA:CPU computes bf16
    with pytest.raises(JaxnnError):
        check_supported(Policy.bf16(), "tpu" if jax.default_backend() != "tpu" else "gpu")
