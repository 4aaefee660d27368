"""jaxnn: the classic neural-network curriculum as pure, jitted JAX functions.

Layers (data flows one way, nothing imports upward):

    jaxnn.nn           activations, losses, layers, convolution, recurrent cells
    jaxnn.models       init/apply/loss for each network of the lecture notes
    jaxnn.derivations  closed-form gradients and Jacobians, checked against jax.grad
    jaxnn.optim        the notes' optimizers as optax GradientTransformations
    jaxnn.train        jitted steps, training loop, checkpoints, sharding
    jaxnn.data         data sets (cache + checksums), sequences, batching
    jaxnn.metrics      accuracy, precision/recall/F1, confusion matrix
    jaxnn.cli          the ``jaxnn`` command (``python -m jaxnn``): runs the lab book

The functional contract every model keeps::

    params = init(key, ...)                       # dict pytree, names from the notes
    y      = apply(params, x, *, key=None, train=False)
    J      = loss(params, batch)                  # scalar
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``jaxnn.JaxnnError`` / ``jaxnn.ShapeError`` without importing JAX on ``import jaxnn``
    # (so that ``jaxnn list`` and ``--help`` answer at once).
    if name in ("JaxnnError", "ShapeError"):
        from jaxnn import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'jaxnn' has no attribute {name!r}")
