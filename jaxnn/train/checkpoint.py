"""Atomic, restorable training checkpoints with orbax.

A checkpoint holds two items per saved epoch ``E`` (the folder ``<dir>/<E>``):

- ``state``: the array pytree ``{params, opt_state, best_params, key}`` (orbax
  ``StandardSave``; a typed PRNG key is stored as its raw ``key_data``),
- ``meta``: JSON with the epoch, history, best-so-far bookkeeping and a *parameter
  signature* (every leaf's path, shape and dtype).

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a
process killed mid-save leaves the previous checkpoint intact; saving here is synchronous
(the call returns once the checkpoint is final). Before restoring, the stored signature is
compared with the caller's parameters: a folder written by a different model raises
:class:`~jaxnn.errors.JaxnnError` naming the first differences instead of an orbax traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError


def param_signature(params: Any) -> dict[str, list]:
    """``{leaf path: [shape, dtype]}`` of a pytree (what must match to restore into it)."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return {jax.tree_util.keystr(p): [list(np.shape(x)), str(jnp.result_type(x))]
            for p, x in flat}


def _diff(stored: dict[str, list], given: dict[str, list], limit: int = 5) -> list[str]:
    out = [f"{k}: stored {stored[k][0]} {stored[k][1]}, given {given[k][0]} {given[k][1]}"
           for k in stored if k in given and stored[k] != given[k]]
    out += [f"{k}: only in the checkpoint" for k in stored if k not in given]
    out += [f"{k}: not in the checkpoint" for k in given if k not in stored]
    return out[:limit]


def _is_typed_key(key: Any) -> bool:
    return hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


class Checkpointer:
    """Save and restore training state under one directory (one sub-folder per epoch).

    Args:
        directory: checkpoint folder (created if missing; made absolute).
        max_to_keep: how many of the latest checkpoints to keep (older ones are deleted).
    """

    def __init__(self, directory: str | Path, max_to_keep: int = 2):
        import orbax.checkpoint as ocp

        self._ocp = ocp
        self.directory = Path(directory).absolute()
        self.directory.mkdir(parents=True, exist_ok=True)
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                               enable_async_checkpointing=False, create=True)
        self._mngr = ocp.CheckpointManager(self.directory, options=options,
                                           item_names=("state", "meta"))

    def latest_epoch(self) -> int | None:
        """Epoch number of the newest complete checkpoint, or ``None`` when there is none."""
        self._mngr.reload()
        return self._mngr.latest_step()

    def save(self, epoch: int, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write checkpoint ``epoch`` (atomically; returns when it is final).

        Args:
            epoch: completed epochs (the step number of the checkpoint).
            state: dict of array pytrees; a ``"key"`` entry may be a typed PRNG key.
            meta: JSON-serialisable dict (epoch, history, …); ``"signature"`` of
                ``state["params"]`` is added.
        """
        ocp = self._ocp
        state = dict(state)
        if "key" in state and _is_typed_key(state["key"]):
            state["key"] = jax.random.key_data(state["key"])
        meta = {**meta, "signature": param_signature(state["params"])}
        self._mngr.save(epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                       meta=ocp.args.JsonSave(meta)), force=True)
        self._mngr.wait_until_finished()

    def restore(self, template: dict[str, Any], epoch: int | None = None
                ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read checkpoint ``epoch`` (default the latest) into the structure of ``template``.

        Args:
            template: a state dict like the one saved (same pytrees and shapes); its
                ``"key"`` decides whether the key comes back typed or raw.
            epoch: which checkpoint; ``None`` = latest.

        Returns:
            ``(state, meta)``.

        Raises:
            JaxnnError: no checkpoint, or it was written for different parameters (the
                message lists the differing leaves).
        """
        ocp = self._ocp
        epoch = self.latest_epoch() if epoch is None else epoch
        if epoch is None:
            raise JaxnnError(f"no checkpoint in {self.directory}")
        meta = self._mngr.restore(
            epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        given = param_signature(template["params"])
        stored = meta.get("signature", {})
        if stored != given:
            raise JaxnnError(f"checkpoint {self.directory} (epoch {epoch}) was written for a "
                             f"different model: " + "; ".join(_diff(stored, given)))
        tmpl = dict(template)
        typed = "key" in tmpl and _is_typed_key(tmpl["key"])
        if typed:
            tmpl["key"] = jax.random.key_data(tmpl["key"])
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, tmpl)
        state = self._mngr.restore(epoch, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract)))["state"]
        state = dict(state)
        if typed:
            state["key"] = jax.random.wrap_key_data(state["key"],
                                                    impl=jax.random.key_impl(template["key"]))
        return state, meta

    def close(self) -> None:
        """Finish pending writes and release the manager."""
        self._mngr.close()
