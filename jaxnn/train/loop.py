"""``fit``: epochs of jitted steps, validation, early stopping, logs, checkpoints.

Qiu Xipeng, 《神经网络与深度学习》 (2015), eq 125–131: minimise the regularised empirical risk
by (mini-batch) gradient descent, and stop when the error on a held-out validation set stops
falling ("early stop": keep the parameters with the lowest validation loss, give up after
``patience`` epochs without improvement). The regulariser and gradient clipping are links of
the optimizer chain (``jaxnn.optim.l2``, ``optax.clip_by_global_norm``), not options of ``fit``.

Speed: a whole epoch is *one* jitted call — the engine's ``lax.scan`` of the train step over
the batches of a shuffled index matrix (N // B, B) (:func:`jaxnn.train.engine.make_epoch_fn`),
with the data kept on the device and each batch gathered inside the scan. The last partial
batch is dropped each epoch (see :mod:`jaxnn.data.batching`). Measured against one jitted
dispatch per step on the 2-core CPU box (median per epoch): 64-32-10, 32 steps of B 32: 1.3 vs
11.4 ms; 784-256-10, 50 steps of B 128: CPU 94 vs 124 ms; dispatch overhead dominates small
models and the scan never lost.

Randomness: epoch ``e`` (1-based) uses ``k_e = fold_in(key, e)``, split into a permutation key
and a step key; step ``i`` gets ``fold_in(step_key, i)``. So a run is a function of ``key``
alone and a resumed run replays exactly what an uninterrupted one does.

Hooks for other engines: inside a ``jaxnn.train.parallel.data_parallel()`` block the step that
:func:`~jaxnn.train.step.make_train_step` builds is data-parallel, so ``fit`` runs sharded
unchanged. ``step_fn`` replaces the built step altogether (e.g. a hand-derived backward pass);
it must have the signature ``(params, opt_state, batch, key) -> (params, opt_state, loss, aux)``
and be traceable (it runs inside the epoch's scan).

Bad data never train silently (:mod:`jaxnn.train.validate` has the table of which check runs
where): before the first step, ``fit`` checks ``key``, ``eval_batch_size``, a given
``opt_state`` against ``optimizer.init(params)``, and ``train_data`` and ``valid_data`` once,
on the host (finite floats, N > 0, and one eager call of ``loss_fn`` on the rows holding each
integer array's extremes, so the model's own label-range and shape checks run on concrete
values). After every epoch it checks the losses and the new parameters for NaN/inf (one
reduction); a non-finite epoch is replayed once to name the step and the first non-finite
leaf (the loss, or a parameter after the update), and the run stops with
:class:`jaxnn.errors.NonFiniteError` holding the last good parameters — no checkpoint is
written for the broken epoch, so the last one on disk is good. ``checks=True`` adds
``jax.experimental.checkify`` checks inside every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnn.data.batching import check_data, resolve_batch_size
from jaxnn.errors import JaxnnError, NonFiniteError
from jaxnn.train import progress as prog
from jaxnn.train.checkpoint import Checkpointer, run_signature
from jaxnn.train.engine import StepFn, make_epoch_fn
from jaxnn.train.step import add_checks, as_keyed, check_callables, make_train_step, raise_checks
from jaxnn.train.validate import (check_key, check_opt_state, check_params,
                                  check_training_data, first_nonfinite_leaf, leaf_names)

Array = jax.Array
#: the array part of :class:`FitState` (what a checkpoint stores with orbax)
_ARRAYS = ("params", "opt_state", "best_params", "key")


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
        params: parameters after the last epoch run.
        opt_state: optimizer state after the last epoch run.
        history: one dict per epoch: ``epoch`` (1-based), ``train_loss`` (mean step loss over
            the epoch), ``valid_loss`` (with validation data), the ``eval_fn`` metrics, ``time_s``.
        best_epoch: epoch with the lowest validation loss (the last epoch without validation).
        best_params: parameters at ``best_epoch`` (early stopping's answer).
        stopped_early: whether ``patience`` ended the run before ``epochs``.
    """

    params: Any
    opt_state: Any
    history: list[dict[str, Any]]
    best_epoch: int
    best_params: Any
    stopped_early: bool


class FitState(NamedTuple):
    """Everything :func:`fit` carries from one epoch to the next (and checkpoints).

    Attributes:
        params: current parameters.
        opt_state: current optimizer state.
        best_params: parameters of the epoch with the lowest validation loss so far.
        key: the run's PRNG key (epoch ``e`` uses ``fold_in(key, e)``).
        epoch: epochs completed.
        history: the epoch records so far.
        best_epoch: epoch of ``best_params`` (0 before any validation).
        best_loss: lowest validation loss so far, or ``None``.
        bad_epochs: epochs since the validation loss last fell.
        stopped_early: ``patience`` ran out.
    """

    params: Any
    opt_state: Any
    best_params: Any
    key: Any
    epoch: int = 0
    history: tuple = ()
    best_epoch: int = 0
    best_loss: float | None = None
    bad_epochs: int = 0
    stopped_early: bool = False

    def arrays(self) -> dict[str, Any]:
        """The array pytrees, as a checkpoint stores them."""
        return {k: getattr(self, k) for k in _ARRAYS}

    def meta(self) -> dict[str, Any]:
        """The JSON bookkeeping, as a checkpoint stores it."""
        return {k: getattr(self, k) for k in self._fields if k not in _ARRAYS} | {
            "history": list(self.history)}

    @classmethod
    def from_checkpoint(cls, arrays: dict[str, Any], meta: dict[str, Any]) -> FitState:
        return cls(**{k: arrays[k] for k in _ARRAYS},
                   **{k: meta[k] for k in cls._fields if k not in _ARRAYS},
                   ).with_history(meta["history"])

    def with_history(self, history) -> FitState:
        return self._replace(history=tuple(history))


# --------------------------------------------------------------------------- evaluation


def evaluate(fn: Callable[[Any, Any], Any], params: Any, data: Any,
             batch_size: int | None = None) -> Any:
    """Run a jitted metric over a large data set in chunks and average the chunks.

    Args:
        fn: ``fn(params, batch) -> scalar`` or ``dict[str, scalar]``, each a *mean* over the
            batch (e.g. mean loss, accuracy); jitted here unless it already is.
        params: parameters passed to ``fn``.
        data: tuple of arrays (N, ...), the batch layout ``fn`` expects.
        batch_size: chunk size (``None`` = everything at once); the last chunk may be
            smaller (it compiles once more).

    Returns:
        Python float (or dict of floats): the size-weighted mean over the chunks, which equals
        ``fn`` on the whole set for per-sample means.
    """
    n = check_data(data, "data")
    bs = n if batch_size is None else resolve_batch_size(n, min(batch_size, n))
    jf = fn if hasattr(fn, "lower") else jax.jit(fn)
    total, weights = None, 0
    for start in range(0, n, bs):
        chunk = tuple(a[start:start + bs] for a in data)
        m = len(chunk[0])
        out = jax.tree.map(lambda v: v * m, jf(params, chunk))
        total = out if total is None else jax.tree.map(jnp.add, total, out)
        weights += m
    return jax.tree.map(lambda v: float(v) / weights, total)


# --------------------------------------------------------------------------- checks


def check_descends(optimizer: optax.GradientTransformation, params: Any) -> None:
    """Raise if ``optimizer``'s first update on a positive gradient is positive anywhere.

    A gradient-descent update must move against the gradient; a positive update to g = 1 at
    θ = 0 means a negative learning rate (or a sign slip in a hand-written optimizer).
    """
    zeros = jax.tree.map(jnp.zeros_like, params)
    ones = jax.tree.map(jnp.ones_like, params)
    updates, _ = optimizer.update(ones, optimizer.init(zeros), zeros)
    worst = max((float(jnp.max(u)) for u in jax.tree.leaves(updates) if jnp.size(u)),
                default=0.0)
    if worst > 0:
        raise JaxnnError("the optimizer moves along the gradient (first update to a gradient "
                         f"of ones is +{worst:.3g}): negative learning rate?")


def _check_count(value, name, allow_none=False):
    if allow_none and value is None:
        return
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        extra = " or None" if allow_none else ""
        raise JaxnnError(f"{name} must be a positive integer{extra}; got {value!r}")


# --------------------------------------------------------------------------- fit


def fit(params: Any, loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation,
        train_data: Any, *, epochs: int, batch_size: int | None = None, key: Array,
        valid_data: Any = None, eval_fn: Callable[[Any, Any], dict[str, Any]] | None = None,
        patience: int | None = None, checkpoint_dir: str | Path | None = None,
        log_path: str | Path | None = None, progress: bool | str = True,
        callback: Callable[[dict[str, Any]], None] | None = None,
        has_aux: bool = False, checkpoint_every: int = 1, eval_batch_size: int | None = 4096,
        opt_state: Any = None, step_fn: StepFn | None = None,
        checks: bool = False) -> FitResult:
    """Train ``params`` for ``epochs`` epochs of (mini-)batch gradient descent.

    Args:
        params: initial parameter pytree (float arrays).
        loss_fn: ``(params, batch, key) -> scalar`` mean loss (or ``(loss, aux)`` with
            ``has_aux``); a two-argument ``(params, batch)`` function is accepted. For the
            validation loss it is called with ``key=None`` (models should then disable dropout).
        optimizer: ``optax.GradientTransformation``: the update rule, with any regulariser and
            clipping chained before it (``optax.chain(jaxnn.optim.l2(λ, mask),
            optax.clip_by_global_norm(c), jaxnn.optim.momentum(0.1))``).
        train_data: tuple ``(x, y, ...)`` of arrays sharing the leading axis N.
        epochs: number of epochs (total, including any resumed from a checkpoint).
        batch_size: ``None`` = full batch (batch GD), 1 = per-sample SGD, else mini-batch B.
        key: ``jax.random`` key: shuffling and the per-step keys passed to ``loss_fn``.
        valid_data: tuple like ``train_data`` for the validation loss/metrics each epoch.
        eval_fn: ``(params, batch) -> dict[str, scalar]`` of batch means (e.g. accuracy), run
            on ``valid_data``; its keys appear in the history.
        patience: stop after this many epochs without a lower validation loss.
        checkpoint_dir: save (orbax) every ``checkpoint_every`` epochs and at the end; if it
            already holds a checkpoint of the same run, training *resumes* from the latest
            intact one (params, opt_state, epoch, PRNG key, history, best-so-far), so a killed
            run finishes with the parameters an uninterrupted run would have had. A damaged
            newest checkpoint is reported (``CheckpointWarning``) and the previous one used;
            a checkpoint of another run (other parameter shapes, optimizer or its
            hyperparameters, ``batch_size``, N or ``key``; see
            :func:`~jaxnn.train.signature.run_signature`) is refused, naming the
            difference; ``epochs`` may grow.
        log_path: append one JSON line per epoch (rewritten from the history on resume);
            the records also stream to TensorBoard inside ``tensorboard.streaming``.
        progress: show a tqdm bar with the losses and first metric; a string shows it under
            that label.
        callback: called with each epoch's history record after it is logged and
            checkpointed (plotting, custom logging, tests that interrupt a run).

    Advanced args:
        has_aux: ``loss_fn`` returns ``(loss, aux)`` (aux is dropped).
        checkpoint_every: epochs between checkpoints.
        eval_batch_size: chunk size for the validation pass (``None`` = all at once).
        opt_state: initial optimizer state (default ``optimizer.init(params)``).
        step_fn: a ready, traceable step to scan instead of
            ``make_train_step(loss_fn, optimizer, has_aux=has_aux)``.
        checks: wrap each epoch in ``jax.experimental.checkify`` with checks inside every
            step (finite batch, loss and updated params), for what the
            eager checks before the run cannot see; costs some speed, never changes a number.

    Returns:
        :class:`FitResult`.

    Raises:
        ShapeError: arrays in ``train_data``/``valid_data`` disagree on N, or shapes the
            model refuses (named by the model, with the row).
        NonFiniteError: a NaN/inf loss or parameter: the message names the epoch, the step
            and the first non-finite leaf; the error's ``.params`` are the last good ones and
            the last checkpoint written is good.
        JaxnnError: bad epochs/batch_size/patience/eval_batch_size, a key that is not a
            ``jax.random`` key, params that are not finite float arrays, an ``opt_state`` not
            built for ``params``, non-finite data or
            labels the model refuses (named with their index), a negative learning rate, a
            checkpoint of a different model.
    """
    check_callables(loss_fn, optimizer)
    check_key(key)
    check_params(params)
    _check_count(epochs, "epochs")
    _check_count(patience, "patience", allow_none=True)
    _check_count(checkpoint_every, "checkpoint_every")
    _check_count(eval_batch_size, "eval_batch_size", allow_none=True)
    if patience is not None and valid_data is None:
        raise JaxnnError("patience (early stopping) needs valid_data")
    keyed = as_keyed(loss_fn)
    n = check_training_data(train_data, "train_data", loss_fn=keyed, params=params, key=key)
    bs = resolve_batch_size(n, batch_size)
    if valid_data is not None:
        check_training_data(valid_data, "valid_data", params=params,
                            loss_fn=lambda p, batch, _key: keyed(p, batch, None))
    if opt_state is not None:
        check_opt_state(optimizer, params, opt_state)
    if step_fn is None:
        check_descends(optimizer, params)
        step_fn = make_train_step(loss_fn, optimizer, has_aux=has_aux)
    if checks:
        run_epoch = raise_checks(make_epoch_fn(add_checks(step_fn), n, bs))
    else:
        run_epoch = make_epoch_fn(step_fn, n, bs)
    # Data go to the device once (already placed/sharded jax arrays are kept as they are).
    train_data = tuple(jnp.asarray(a) for a in train_data)
    if valid_data is not None:
        valid_data = tuple(jnp.asarray(a) for a in valid_data)
    valid_fn = _make_valid_fn(loss_fn, has_aux, eval_fn) if valid_data is not None else None

    opt_state = optimizer.init(params) if opt_state is None else opt_state
    state = FitState(params, opt_state, params, key)
    ckpt = None if checkpoint_dir is None else Checkpointer(
        checkpoint_dir, signature=run_signature(optimizer, opt_state, batch_size=bs, n=n, key=key))
    if ckpt is not None and ckpt.epochs():  # any step folder, intact or damaged
        state = FitState.from_checkpoint(*ckpt.restore(state.arrays()))
        if log_path is not None:
            prog.write_jsonl(log_path, state.history)

    label = progress if isinstance(progress, str) else ""
    bar = prog.progress_bar(epochs, state.epoch, label, bool(progress))
    try:
        while state.epoch < epochs and not state.stopped_early:
            epoch = state.epoch + 1
            t0 = time.perf_counter()
            new_params, new_opt_state, losses = run_epoch(
                state.params, state.opt_state, train_data, jax.random.fold_in(state.key, epoch))
            losses = np.asarray(losses)
            if not np.all(np.isfinite(losses)) or first_nonfinite_leaf(new_params):
                raise _nonfinite(step_fn, n, bs, state, train_data, epoch, losses, ckpt)
            record: dict[str, Any] = {"epoch": epoch, "train_loss": float(losses.mean())}
            if valid_fn is not None:
                metrics = evaluate(valid_fn, new_params, valid_data, eval_batch_size)
                record["valid_loss"] = metrics.pop("valid_loss")
                record.update(metrics)
            record["time_s"] = time.perf_counter() - t0
            state = _track_best(state._replace(params=new_params, opt_state=new_opt_state,
                                               epoch=epoch, history=state.history + (record,)),
                                record, patience)
            prog.append_jsonl(log_path, record, run=label)  # the log (if any), TensorBoard
            bar.set_postfix(prog.postfix(record), refresh=False)  # shown by the update
            bar.update(1)
            if ckpt is not None and (epoch % checkpoint_every == 0 or epoch == epochs
                                     or state.stopped_early):
                ckpt.save(epoch, state.arrays(), state.meta())
            if callback is not None:
                callback(record)
    finally:
        bar.close()
        if ckpt is not None:
            ckpt.close()
    history = list(state.history)
    best_epoch = state.best_epoch or (history[-1]["epoch"] if history else 0)
    best_params = state.best_params if valid_fn is not None else state.params
    return FitResult(state.params, state.opt_state, history, best_epoch, best_params,
                     bool(state.stopped_early))


def _nonfinite(step_fn, n, bs, state, train_data, epoch, losses, ckpt) -> NonFiniteError:
    """The error for an epoch that produced a NaN/inf: replay it once from its (good) start to
    find the first step whose loss, or whose updated parameters, are non-finite."""
    step, leaf, value = None, None, None
    try:
        replay = make_epoch_fn(step_fn, n, bs, finite_flags=True)
        _, _, r_losses, flags = replay(state.params, state.opt_state, train_data,
                                       jax.random.fold_in(state.key, epoch))
        r_losses, flags = np.asarray(r_losses), np.asarray(flags)
        names = [name for name, v in zip(leaf_names(state.params), jax.tree.leaves(state.params))
                 if jnp.issubdtype(v.dtype, jnp.inexact)]
        for i in range(len(r_losses)):
            if not np.isfinite(r_losses[i]):
                step, leaf, value = i + 1, "loss", r_losses[i]
                break
            if flags.shape[1] and not flags[i].all():
                step, leaf, value = i + 1, names[int(np.argmin(flags[i]))], r_losses[i]
                break
    except Exception:  # a step that cannot be replayed (e.g. donated buffers): say less
        pass
    if step is None:
        bad = ~np.isfinite(losses)
        if bad.any():
            step, leaf, value = int(np.argmax(bad)) + 1, "loss", losses[int(np.argmax(bad))]
        else:
            leaf = "the parameters"
    if leaf == "loss":
        what = f"the loss is {value} (computed before this step's update)"
    else:
        what = f"{leaf} holds NaN/inf after this step's update (the loss before it was {value})"
    at = f"step {step} of {len(losses)}" if step is not None else "some step"
    kept = (f"the parameters of epoch {epoch - 1} are kept (this error's .params)"
            if epoch > 1 else "the initial parameters are kept (this error's .params)")
    where = f"; last good checkpoint: {ckpt.directory}" if ckpt else ""
    return NonFiniteError(f"training became NaN/inf at epoch {epoch}, {at}: {what}; stopped: "
                          f"{kept}{where}", epoch=epoch, step=step, leaf=leaf,
                          params=state.params, opt_state=state.opt_state)


def _make_valid_fn(loss_fn, has_aux, eval_fn):
    keyed = as_keyed(loss_fn)

    @jax.jit
    def valid(params, batch):
        out = keyed(params, batch, None)
        metrics = {"valid_loss": out[0] if has_aux else out}
        if eval_fn is not None:
            extra = eval_fn(params, batch)
            clash = set(extra) & {"epoch", "train_loss", "valid_loss", "time_s"}
            if clash:
                raise JaxnnError(f"eval_fn metric names {sorted(clash)} clash with fit's own")
            metrics.update(extra)
        return metrics

    return valid


def _track_best(state: FitState, record: dict, patience: int | None) -> FitState:
    """Best-so-far bookkeeping after an epoch (early stopping on the validation loss)."""
    if "valid_loss" not in record:
        return state
    loss = record["valid_loss"]
    if state.best_loss is None or (math.isfinite(loss) and loss < state.best_loss):
        return state._replace(best_loss=loss, best_epoch=record["epoch"], bad_epochs=0,
                              best_params=state.params)
    bad = state.bad_epochs + 1
    return state._replace(bad_epochs=bad,
                          stopped_early=patience is not None and bad >= patience)
