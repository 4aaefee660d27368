"""Jitted train/eval steps, the training loop, checkpoints and sharding.

    step = make_train_step(loss_fn, optimizer, l2=1e-4)        # jitted, never retraces
    res  = fit(params, loss_fn, optimizer, (x, y), epochs=20, batch_size=128, key=key,
               valid_data=(xv, yv), eval_fn=metrics, patience=5, checkpoint_dir="ckpt")
    plot_history(res.history, "curves.png")
"""

from jaxnn.train.checkpoint import Checkpointer  # noqa: F401
from jaxnn.train.loop import FitResult, evaluate, fit, make_epoch_fn  # noqa: F401
from jaxnn.train.progress import plot_history, read_jsonl  # noqa: F401
from jaxnn.train.step import make_train_step  # noqa: F401
