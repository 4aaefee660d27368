"""The training engine, ``fit``, train steps, checkpoints and sharding.

    opt  = optax.chain(jaxnn.optim.l2(1e-4, mask=lambda p: jaxnn.optim.mask_leaves(
                           p, lambda path, w: w.ndim >= 2)),       # decay W, not b
                       jaxnn.optim.momentum(0.1))
    step = make_train_step(loss_fn, opt)                           # jitted, never retraces
    res  = fit(params, loss_fn, opt, (x, y), epochs=20, batch_size=128, key=key,
               valid_data=(xv, yv), eval_fn=metrics, patience=5, checkpoint_dir="ckpt")
    plot_history(res.history, "curves.png")

Every loop (``fit``'s epochs, ``gradient_descent``, the recurrent
experiments' chunks) is one :func:`~jaxnn.train.engine.make_runner` scan over steps.
"""

from jaxnn.train import plateau  # noqa: F401
from jaxnn.train.checkpoint import Checkpointer  # noqa: F401
from jaxnn.train.engine import (  # noqa: F401
    RunOutput,
    fold_in_keys,
    make_epoch_fn,
    make_runner,
    split_keys,
)
from jaxnn.train.gd import GDResult, gradient_descent  # noqa: F401
from jaxnn.train.loop import FitResult, FitState, evaluate, fit  # noqa: F401
from jaxnn.train.progress import plot_history, read_jsonl  # noqa: F401
from jaxnn.train.step import make_train_step  # noqa: F401
