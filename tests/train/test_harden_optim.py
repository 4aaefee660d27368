"""Optimizer hyperparameters are checked where the optimizer is built; shard_batch refuses
leaves without the batch axis."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import optim
from jaxnn.errors import JaxnnError
from jaxnn.train import parallel

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("make, arg", [
    (lambda v: optim.sgd(v), "learning_rate"),
    (lambda v: optim.momentum(v), "learning_rate"),
    (lambda v: optim.adagrad(v), "learning_rate"),
    (lambda v: optim.momentum(0.1, rho=v), "momentum rho"),
    (lambda v: optim.adagrad(0.1, eps=v), "adagrad eps"),
    (lambda v: optim.adadelta(rho=v), "adadelta rho"),
    (lambda v: optim.adadelta(eps=v), "adadelta eps"),
    (lambda v: optim.l2(v, mask=None), "l2 weight_decay"),
    (lambda v: optim.l1(v, mask=None), "l1 weight"),
])
@pytest.mark.parametrize("value", [NAN, INF, -0.5, True, "0.1"])
def test_bad_hyperparameters_are_refused_when_built(make, arg, value):
    # sgd(nan) and adagrad(eps=nan) used to be accepted and train to NaN
    with pytest.raises(JaxnnError, match=arg):
        make(value)


def test_momentum_rho_of_one_is_refused_and_good_values_pass():
    with pytest.raises(JaxnnError, match=r"\[0.0, 1.0\)"):
        optim.momentum(0.1, rho=1.0)
    for opt in (optim.sgd(np.float32(0.1)), optim.momentum(0, rho=0.0), optim.adagrad(0.1, 0),
                optim.adadelta(0.9, 1e-6), optim.l2(0, mask=None)):
        p = {"w": jnp.ones(2)}
        opt.update(p, opt.init(p), p)


def test_shard_batch_names_a_scalar_leaf_and_a_bad_axis():
    mesh = parallel.make_mesh()
    with pytest.raises(JaxnnError, match=r"batch\[1\] of shape \(\) has no axis 0"):
        parallel.shard_batch((np.ones((4, 2)), np.float32(3.0)), mesh)
    with pytest.raises(JaxnnError, match=r"has no axis 2"):
        parallel.shard_batch((np.ones((4, 2)),), mesh, axis=2)
    with pytest.raises(JaxnnError, match="axis must be an integer"):
        parallel.shard_batch((np.ones((4, 2)),), mesh, axis=0.5)
    out = parallel.shard_batch((np.ones((4, 2)),), mesh, axis=-2)
    assert out[0].shape == (4, 2)
