"""Train the digits MLP with jaxnn's train step on an N-device mesh; print the final params.

Run as a subprocess by tests/train/test_parallel.py, because the number of (forced host) devices
is fixed when JAX starts: ``python tests/train/_sharded_run.py N OUT.npz``.
"""

import os
import sys

n_dev = int(sys.argv[1])
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_dev}"

import functools  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxnn.data import digits  # noqa: E402
from jaxnn.models import mlp  # noqa: E402
from jaxnn.train import make_train_step, parallel  # noqa: E402

assert len(jax.devices()) == n_dev, jax.devices()
ds = digits()
x, y = ds.x_train[:512], ds.y_train[:512]
config = mlp.MLPConfig((64, 32, 10), activation="tanh")
params = mlp.init(jax.random.key(0), config)
loss = functools.partial(mlp.loss, config=config)
opt = optax.sgd(0.1, momentum=0.9)
step = make_train_step(loss, opt)
mesh = parallel.make_mesh()
params = parallel.replicate(params, mesh)
state = parallel.replicate(opt.init(params), mesh)
for i in range(25):
    sl = slice((i * 64) % 512, (i * 64) % 512 + 64)
    batch = parallel.shard_batch((x[sl], y[sl]), mesh)
    params, state, l, _ = step(params, state, batch, jax.random.key(i))
assert len(params["layer1"]["W"].sharding.device_set) == n_dev
np.savez(sys.argv[2], **{f"{layer}_{leaf}": np.asarray(v) for layer, p in params.items()
                         for leaf, v in p.items()}, loss=float(l))
