"""Atomic, verified, restorable training checkpoints with orbax.

A checkpoint holds two items per saved epoch ``E`` (the folder ``<dir>/<E>``):

- ``state``: the array pytree ``{params, opt_state, best_params, key}`` (orbax
  ``StandardSave``; a typed PRNG key is stored as its raw ``key_data``),
- ``meta``: JSON with the epoch, history, best-so-far bookkeeping, a *parameter signature*
  (every leaf's path, shape and dtype), a *run signature* (what else decides the training
  trajectory, see :func:`run_signature`) and a *checksum* of every saved tree
  (:func:`tree_checksum`: sha256 over each leaf's path, dtype, shape and bytes, leaf by leaf
  in ``jax.tree_util`` order).

Writing: orbax writes each checkpoint into a temporary folder and renames it when complete,
so a process killed mid-save leaves the previous checkpoint intact; saving here is
synchronous. Before writing, every float leaf is checked finite: a tree holding NaN/inf is
refused (:class:`~jaxnn.errors.JaxnnError` naming the epoch and the first non-finite leaf),
so the newest checkpoint on disk is always a usable one.

Reading: :meth:`Checkpointer.restore` tries the newest step first. A step whose files are
damaged (truncated or altered data files, broken or missing metadata or manifests, an empty
folder, checksums that do not match what was read) gives a :class:`CheckpointWarning` naming
the step, is moved aside into ``<dir>/damaged/`` (kept for inspection, never deleted, out of
orbax's way) and the previous step is tried; with none intact a :class:`~jaxnn.errors.JaxnnError`
lists every step and what was wrong with it. A step that is intact but was written for other
parameters or another run signature is refused outright (that is not damage: the folder
belongs to a different run) with a message naming the differences and how to start fresh.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import jax

from jaxnn.errors import JaxnnError
from jaxnn.train.signature import (  # noqa: F401 - param_signature, run_signature: public here
    diff as _diff,
    first_non_finite,
    is_typed_key as _is_typed_key,
    param_signature,
    run_diff as _run_diff,
    run_signature,
    tree_checksum,
)

#: the array trees a fit checkpoint holds whose float leaves must be finite
_FINITE = ("params", "opt_state", "best_params")


class CheckpointWarning(UserWarning):
    """A checkpoint step was found damaged and skipped (the message names the step)."""


# --------------------------------------------------------------------------- checkpointer


class Checkpointer:
    """Save and restore training state under one directory (one sub-folder per epoch).

    Args:
        directory: checkpoint folder (created if missing; made absolute).
        max_to_keep: how many of the latest checkpoints to keep (older ones are deleted);
            2 (the default) keeps one to fall back on when the newest is damaged.
        signature: the run signature (:func:`run_signature`) stored with every save and
            required equal on restore; ``None`` = none stored, none checked.
    """

    def __init__(self, directory: str | Path, max_to_keep: int = 2,
                 signature: dict[str, Any] | None = None):
        import orbax.checkpoint as ocp

        self._ocp = ocp
        self.directory = Path(directory).absolute()
        if self.directory.exists() and not self.directory.is_dir():
            raise JaxnnError(f"checkpoint_dir {self.directory} is a file, not a folder")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.signature = None if signature is None else json.loads(json.dumps(signature))
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep,
                                               enable_async_checkpointing=False, create=True)
        self._mngr = ocp.CheckpointManager(self.directory, options=options,
                                           item_names=("state", "meta"))

    def latest_epoch(self) -> int | None:
        """Epoch number of the newest complete checkpoint, or ``None`` when there is none."""
        self._mngr.reload()
        return self._mngr.latest_step()

    def epochs(self) -> list[int]:
        """Every step folder present (``<dir>/<E>``), newest first, damaged or not."""
        return sorted((int(p.name) for p in self.directory.iterdir()
                       if p.is_dir() and p.name.isdigit()), reverse=True)

    def save(self, epoch: int, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write checkpoint ``epoch`` (atomically; returns when it is final).

        Args:
            epoch: completed epochs (the step number of the checkpoint).
            state: dict of array pytrees; a ``"key"`` entry may be a typed PRNG key.
            meta: JSON-serialisable dict (epoch, history, …); ``"signature"`` of
                ``state["params"]``, ``"run_signature"`` and ``"checksums"`` (one per
                entry of ``state``) are added.

        Raises:
            JaxnnError: a float leaf of ``params``, ``opt_state`` or ``best_params`` holds
                NaN/inf (named; nothing is written).
        """
        ocp = self._ocp
        for name in _FINITE:
            bad = first_non_finite(state.get(name), name) if name in state else None
            if bad:
                raise JaxnnError(f"refusing to save checkpoint {epoch} in {self.directory}: "
                                 f"{bad}; the previous checkpoint is kept")
        state = dict(state)
        if "key" in state and _is_typed_key(state["key"]):
            state["key"] = jax.random.key_data(state["key"])
        meta = {**meta, "signature": param_signature(state["params"]),
                "run_signature": self.signature,
                "checksums": {k: tree_checksum(v) for k, v in state.items()}}
        self._mngr.reload()
        if (self.directory / str(epoch)).exists() and epoch not in self._mngr.all_steps():
            self._quarantine(epoch)  # a leftover folder orbax does not own
        self._mngr.save(epoch, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                       meta=ocp.args.JsonSave(meta)), force=True)
        self._mngr.wait_until_finished()

    def restore(self, template: dict[str, Any], epoch: int | None = None
                ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read the newest intact checkpoint (or ``epoch``) into the structure of ``template``.

        Args:
            template: a state dict like the one saved (same pytrees and shapes); its
                ``"key"`` decides whether the key comes back typed or raw.
            epoch: which checkpoint; ``None`` = the newest intact one (damaged newer ones
                are reported with a :class:`CheckpointWarning` and moved to ``damaged/``).

        Returns:
            ``(state, meta)``.

        Raises:
            JaxnnError: no checkpoint; none intact (each step's damage listed); ``epoch``
                damaged; or the checkpoint was written for different parameters or another
                run signature (the message lists the differences and how to start fresh).
        """
        steps = self.epochs() if epoch is None else [epoch]
        if not steps:
            raise JaxnnError(f"no checkpoint in {self.directory}")
        problems = []
        for step in steps:
            try:
                meta = self._read_meta(step)
            except _Damaged as exc:
                problems.append((step, str(exc)))
                continue
            self._check_signatures(step, meta, template)
            try:
                state = self._read_state(step, template, meta)
            except _Damaged as exc:
                problems.append((step, str(exc)))
                continue
            self._report(problems, used=step, quarantine=epoch is None)
            return state, meta
        self._report(problems, used=None, quarantine=False)
        listed = "; ".join(f"epoch {s}: {why}" for s, why in problems)
        raise JaxnnError(f"no intact checkpoint in {self.directory} ({listed}); delete the "
                         "folder (or pass another checkpoint_dir) to start fresh")

    # ------------------------------------------------------------------ restore helpers

    def _read_meta(self, step: int) -> dict[str, Any]:
        ocp = self._ocp
        if not (self.directory / str(step) / "meta").is_dir():
            raise _Damaged("its meta folder is missing")
        try:
            meta = self._mngr.restore(
                step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception as exc:  # noqa: BLE001 - any orbax/OS/JSON failure means damage
            raise _Damaged(f"its metadata cannot be read ({type(exc).__name__}: "
                           f"{_short(exc)})") from None
        if not isinstance(meta, dict) or not isinstance(meta.get("signature"), dict):
            raise _Damaged("its metadata lacks the parameter signature")
        if not isinstance(meta.get("checksums"), dict):
            raise _Damaged("its metadata holds no checksums (altered, or written by a jaxnn "
                           "before checksums): its arrays cannot be verified")
        return meta

    def _check_signatures(self, step: int, meta: dict, template: dict) -> None:
        given = param_signature(template["params"])
        stored = meta["signature"]
        if stored != given:
            raise JaxnnError(f"checkpoint {self.directory} (epoch {step}) was written for a "
                             f"different model: " + "; ".join(_diff(stored, given)) +
                             "; delete the folder (or pass another checkpoint_dir) to start "
                             "fresh")
        stored_run = meta.get("run_signature")
        if self.signature is not None and stored_run != self.signature:
            what = (_run_diff(stored_run, self.signature) if isinstance(stored_run, dict)
                    else ["it stores no run signature"])
            raise JaxnnError(
                f"checkpoint {self.directory} (epoch {step}) was written by a different "
                f"training run (optimizer, its hyperparameters or the training config): "
                + "; ".join(what) + ". Resuming would continue the old run: delete the folder "
                "(or pass another checkpoint_dir) to start fresh, or use the old settings "
                "to continue it")

    def _read_state(self, step: int, template: dict, meta: dict) -> dict[str, Any]:
        ocp = self._ocp
        tmpl = dict(template)
        typed = "key" in tmpl and _is_typed_key(tmpl["key"])
        if typed:
            tmpl["key"] = jax.random.key_data(tmpl["key"])
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, tmpl)
        self._preread(step)
        try:
            state = self._mngr.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract)))["state"]
        except Exception as exc:  # noqa: BLE001 - any orbax/tensorstore failure means damage
            raise _Damaged(f"its arrays cannot be read ({type(exc).__name__}: "
                           f"{_short(exc)})") from None
        state = dict(state)
        for name, want in meta["checksums"].items():
            if name not in state:
                raise _Damaged(f"'{name}' is missing")
            got = tree_checksum(state[name])
            if want is not None and got is not None and got != want:
                raise _Damaged(f"the checksum of '{name}' does not match (altered data)")
        if typed:
            state["key"] = jax.random.wrap_key_data(state["key"],
                                                    impl=jax.random.key_impl(template["key"]))
        return state

    def _preread(self, step: int) -> None:
        """Read every value of the step's array store once, synchronously (tensorstore).

        A truncated, missing or altered data file or manifest fails here with one clean
        exception, before orbax's concurrent reads would leave pending futures printing
        tracebacks of their own; the cost is reading the checkpoint twice on restore.
        """
        import tensorstore as ts

        folder = self.directory / str(step) / "state"
        if not (folder / "manifest.ocdbt").is_file():
            raise _Damaged("its array store has no manifest (state/manifest.ocdbt)")
        try:
            kv = ts.KvStore.open({"driver": "ocdbt",
                                  "base": folder.as_uri() + "/"}).result()
            keys = kv.list().result()
            for k in keys:
                kv.read(k).result()
        except Exception as exc:  # noqa: BLE001 - any tensorstore failure means damage
            raise _Damaged(f"its arrays cannot be read ({type(exc).__name__}: "
                           f"{_short(exc)})") from None
        if not keys:
            raise _Damaged("its array store is empty")

    def _report(self, problems: list[tuple[int, str]], used: int | None,
                quarantine: bool) -> None:
        for step, why in problems:
            where = ""
            if quarantine:
                where = f"; moved to {self._quarantine(step)}"
            then = f", restoring epoch {used} instead" if used is not None else ""
            warnings.warn(f"checkpoint epoch {step} in {self.directory} is damaged: {why}"
                          f"{then}{where}", CheckpointWarning, stacklevel=3)
        if problems and quarantine:
            self._mngr.reload()

    def _quarantine(self, step: int) -> Path:
        """Move the step folder out of orbax's way into ``<dir>/damaged/`` (never deleted)."""
        target = self.directory / "damaged" / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
        i = 0
        while target.exists():
            i += 1
            target = target.with_name(f"{target.name.split('.')[0]}.{i}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(self.directory / str(step)), str(target))
        return target

    def close(self) -> None:
        """Finish pending writes and release the manager."""
        self._mngr.close()


class _Damaged(Exception):
    """A checkpoint step that cannot be read back as it was written."""


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."
