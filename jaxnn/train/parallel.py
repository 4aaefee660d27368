"""Data-parallel training with ``jax.sharding``: one mesh axis, batch split, state replicated.

The recipe is the one XLA's SPMD partitioner wants: put the *data* where it should live and
let ``jax.jit`` follow it. Parameters and optimizer state are replicated on every device,
each batch is split along its first axis over the ``"data"`` mesh axis, and the jitted train
step itself is unchanged — the mean over the batch in the loss becomes a cross-device
all-reduce that the compiler inserts. So the sharded run computes the same numbers as the
single-device run (up to float32 summation order)::

    mesh   = make_mesh()                          # all local devices on one axis "data"
    params = replicate(params, mesh)
    state  = replicate(opt.init(params), mesh)
    for batch in batches:
        params, state, loss, _ = step(params, state, shard_batch(batch, mesh), key)

Multi-host (TPU pods, several GPU hosts): call ``jax.distributed.initialize()`` on every
host before anything else (see the README); :func:`make_mesh` then spans ``jax.devices()``,
the global devices, and each host feeds its own slice of the global batch through
:func:`shard_batch` with ``global_batch=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxnn.errors import JaxnnError

DATA_AXIS = "data"


def available_backends() -> list[str]:
    """Names of the JAX backends that have at least one device here (e.g. ``["cpu"]``)."""
    found = []
    for name in ("cpu", "gpu", "tpu"):
        try:
            if jax.devices(name):
                found.append(name)
        except RuntimeError:
            pass
    return found


def devices_for(backend: str | None = None) -> list[jax.Device]:
    """The devices of ``backend`` (``None`` = the default backend).

    Raises:
        JaxnnError: the requested backend is not present, naming the ones that are.
    """
    if backend is None:
        return jax.devices()
    backends = available_backends()
    if backend not in backends:
        raise JaxnnError(f"backend {backend!r} is not present here; available: "
                         f"{', '.join(backends)}")
    return jax.devices(backend)


def split_host_cpu(num_devices: int) -> list[jax.Device]:
    """Present the host CPU to JAX as ``num_devices`` devices, so a mesh can span its cores.

    XLA:CPU runs the small per-step matmuls inside a ``lax.scan`` on one thread, so a
    recurrent training step on a single CPU device uses one core however many there are.
    Split into one device per core and sharded over them (:func:`make_mesh` with
    ``backend="cpu"``, :class:`data_parallel`), each core runs the recurrence of its part of
    the batch: the LSTM step at B = 32, H = 256, T = 100 took 0.6–0.85× the single-device time on
    2 cores, the GRU's 0.55–0.8× (docs/PERF.md). Below H ≈ 64 the step is too small to gain,
    and steps made of large matmuls (LeNet-5, the language models' softmax layer) already use
    every core on one device: sharded, they took 1.0–1.2× the single-device time.
    ``jaxnn run NAME --cpu-devices N`` does this from the shell.

    Call it before JAX runs anything (right after ``import jax``): the CPU backend fixes its
    device count when it starts. It overrides ``--xla_force_host_platform_device_count``.

    Args:
        num_devices: the number of CPU devices, ≥ 1 (one per core is the useful choice).

    Returns:
        the CPU devices, ``num_devices`` of them.

    Raises:
        JaxnnError: ``num_devices`` is not a positive integer, or the CPU backend has already
            started with another device count (the message names both counts).
    """
    if not isinstance(num_devices, (int, np.integer)) or isinstance(num_devices, bool) \
            or num_devices < 1:
        raise JaxnnError(f"num_devices must be a positive integer; got {num_devices!r}")
    n = int(num_devices)
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:          # the backend has started: fine only if it has n devices
        pass
    have = jax.devices("cpu")
    if len(have) != n:
        raise JaxnnError(f"the CPU backend already started with {len(have)} device(s), so it "
                         f"cannot be split into {n}: call split_host_cpu before JAX runs "
                         "anything (right after `import jax`)")
    return have


def make_mesh(num_devices: int | None = None, *, backend: str | None = None,
              devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh named ``"data"`` over ``num_devices`` devices (default: all).

    Args:
        num_devices: how many devices to use (the first ones of ``backend``).
        backend: ``"cpu"``, ``"gpu"``, ``"tpu"`` or ``None`` for JAX's default.
        devices: explicit devices instead of the two arguments above.

    Returns:
        ``jax.sharding.Mesh`` of shape ``(num_devices,)``.
    """
    devs = list(devices) if devices is not None else devices_for(backend)
    if num_devices is not None:
        if not 1 <= num_devices <= len(devs):
            raise JaxnnError(f"num_devices must lie in [1, {len(devs)}]; got {num_devices}")
        devs = devs[:num_devices]
    return Mesh(np.asarray(devs), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    """The sharding that keeps a full copy on every device of ``mesh``."""
    return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, ndim: int = 1, axis: int = 0) -> NamedSharding:
    """The sharding that splits axis ``axis`` of an ``ndim``-array over the data axis."""
    spec = [None] * ndim
    spec[axis] = DATA_AXIS
    return NamedSharding(mesh, PartitionSpec(*spec))


def _host(tree: Any) -> Any:
    """Arrays as host numpy values when several processes share the mesh.

    ``jax.device_put`` of a process-local ``jax.Array`` onto a sharding that spans other
    processes' devices yields an unusable array; from host values each process keeps its own
    shards (every process must pass the same global value).
    """
    if jax.process_count() == 1:
        return tree
    return jax.tree.map(lambda x: np.asarray(jax.device_get(x)), tree)


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Place every array of ``tree`` (params, optimizer state) on all devices of ``mesh``.

    Multi-host: every process passes the same values (same seed, same data).
    """
    return jax.device_put(_host(tree), replicated(mesh))


def check_divisible(batch_size: int, mesh: Mesh) -> None:
    """Raise :class:`JaxnnError` unless ``batch_size`` splits evenly over the mesh."""
    n = mesh.devices.size
    if batch_size < 1:
        raise JaxnnError(f"batch size must be >= 1 to split over {n} devices; got {batch_size}")
    if batch_size % n:
        lo, hi = n * (batch_size // n), n * (batch_size // n + 1)
        raise JaxnnError(f"batch size {batch_size} does not divide over {n} devices; "
                         f"use a multiple of {n} (e.g. {lo or n} or {hi})")


def shard_batch(batch: Any, mesh: Mesh, *, axis: int = 0) -> Any:
    """Split every array of ``batch`` along ``axis`` (the batch axis) over the mesh.

    Args:
        batch: pytree of arrays sharing the size of ``axis`` (e.g. ``(x, y)`` with x: (B, ...),
            y: (B,)); for a stack of batches (steps, B, ...) pass ``axis=1``.
        mesh: from :func:`make_mesh`.

    Raises:
        JaxnnError: ``axis`` not an integer, a leaf (a scalar included) without that axis
            (the message names the leaf and its shape), or B not a multiple of the number of
            devices.
    """
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise JaxnnError(f"axis must be an integer (the batch axis); got {axis!r}")
    leaves = jax.tree_util.tree_flatten_with_path(batch)[0]
    if not leaves:
        return batch
    for path, x in leaves:
        nd = np.ndim(x)
        if not -nd <= axis < nd:
            raise JaxnnError(f"shard_batch: leaf batch{jax.tree_util.keystr(path)} of shape "
                             f"{tuple(np.shape(x))} has no axis {axis} to split over the "
                             f"mesh (every leaf needs the batch axis; a scalar has none)")
    sizes = {np.shape(x)[axis] for _, x in leaves}
    if len(sizes) != 1:
        raise JaxnnError(f"batch arrays disagree on axis {axis}: sizes {sorted(sizes)}")
    check_divisible(sizes.pop(), mesh)
    return jax.tree.map(lambda x: jax.device_put(x, batch_sharding(mesh, np.ndim(x), axis)),
                        _host(batch))


# --------------------------------------------------------------------------- default mesh

_DEFAULT_MESH: list[Mesh | None] = [None]


def default_mesh() -> Mesh | None:
    """The mesh set by :func:`data_parallel` (``None`` outside it)."""
    return _DEFAULT_MESH[0]


class data_parallel:  # noqa: N801 - used like a function: ``with data_parallel(): ...``
    """Make every train step built inside the block data-parallel over ``mesh``.

    ``jaxnn.train.make_train_step`` (and so ``fit`` and every experiment) picks the mesh up,
    so an unchanged experiment runs sharded: ``jaxnn run NAME --data-parallel`` does this.

    Args:
        mesh: a mesh from :func:`make_mesh`; default: all devices of the default backend.
    """

    def __init__(self, mesh: Mesh | None = None):
        self.mesh = mesh if mesh is not None else make_mesh()
        self._saved: Mesh | None = None

    def __enter__(self) -> Mesh:
        self._saved = _DEFAULT_MESH[0]
        _DEFAULT_MESH[0] = self.mesh
        return self.mesh

    def __exit__(self, *exc: Any) -> None:
        _DEFAULT_MESH[0] = self._saved


def constrain_step(step: Any, mesh: Mesh) -> Any:
    """Wrap an un-jitted ``step(params, opt_state, batch, key)`` to run data-parallel.

    Inside the (caller's) ``jit``, the batch is constrained to be split along its first axis
    and the parameters and optimizer state to be replicated; XLA then partitions the step and
    inserts the all-reduce of the gradient. The batch size is checked when the step is traced.
    """
    rep = replicated(mesh)

    def sharded(params, opt_state, batch, key):
        for leaf in jax.tree.leaves(batch):
            check_divisible(int(np.shape(leaf)[0]), mesh)
        batch = jax.tree.map(
            lambda x: jax.lax.with_sharding_constraint(x, batch_sharding(mesh, np.ndim(x))),
            batch)
        params, opt_state = jax.lax.with_sharding_constraint((params, opt_state), rep)
        params, opt_state, loss, aux = step(params, opt_state, batch, key)
        params, opt_state = jax.lax.with_sharding_constraint((params, opt_state), rep)
        return params, opt_state, loss, aux

    return sharded
