"""The report of :mod:`jaxnn.check`: one :class:`Comparison` per check, one :class:`LeafCheck`
per point and derivative leaf, and the :class:`GradientReport` that prints them as a table.
Import these from :mod:`jaxnn.check`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One array ``got`` against a reference ``want`` under ``|got − want| ≤ atol + rtol·|want|``.

    Attributes:
        max_abs: max |got − want| over the elements.
        max_rel: max |got − want| / |want| (inf where want = 0 ≠ got).
        index: the element (a tuple, () for scalars) where the error is largest relative to
            its tolerance.
        ok: whether every element passes (NaN fails).
    """

    max_abs: float
    max_rel: float
    index: tuple[int, ...]
    ok: bool


@dataclasses.dataclass(frozen=True)
class LeafCheck:
    """The checks of one derivative leaf at one point.

    Attributes:
        point: index of the point (given points first, each followed by its random ones).
        path: the leaf as argument name + pytree path, e.g. ``"params['cell']['U']"``.
        shape: the leaf's shape.
        closed: closed form vs autodiff.
        fd: autodiff vs finite differences (None with ``fd=False``).
        fd_method: ``"coords"``, ``"<k> dirs"`` or ``"off"``.
    """

    point: int
    path: str
    shape: tuple[int, ...]
    closed: Comparison
    fd: Comparison | None
    fd_method: str

    @property
    def ok(self) -> bool:
        return self.closed.ok and (self.fd is None or self.fd.ok)


@dataclasses.dataclass(frozen=True)
class GradientReport:
    """What :func:`jaxnn.check.gradient` or :func:`jaxnn.check.jacobian` found.

    ``print`` it for the table (one row per point and leaf).

    Attributes:
        kind: ``"gradient"`` or ``"jacobian"``.
        leaves: the :class:`LeafCheck` rows.
        tolerances: ``(rtol, atol, fd_rtol, fd_atol, fd_eps)``.
    """

    kind: str
    leaves: tuple[LeafCheck, ...]
    tolerances: tuple[float, float, float, float, float]

    @property
    def ok(self) -> bool:
        """True when every leaf passes both comparisons at every point."""
        return all(leaf.ok for leaf in self.leaves)

    @property
    def failures(self) -> tuple[LeafCheck, ...]:
        """The rows that fail."""
        return tuple(leaf for leaf in self.leaves if not leaf.ok)

    def assert_ok(self) -> GradientReport:
        """Fail loudly unless every row passes.

        Returns:
            ``self``, when :attr:`ok`.

        Raises:
            AssertionError: with the table, unless :attr:`ok`.
        """
        if not self.ok:
            raise AssertionError("\n" + str(self))
        return self

    def __str__(self) -> str:
        rtol, atol, fd_rtol, fd_atol, eps = self.tolerances
        auto = "jax.grad" if self.kind == "gradient" else "jax.jacrev"
        verdict = "ok" if self.ok else f"FAILED ({len(self.failures)} of {len(self.leaves)} rows)"
        head = (f"{self.kind} check {verdict}: closed form vs {auto} (rtol {rtol:g}, atol {atol:g}); "
                f"{auto} vs central differences (eps {eps:g}; rtol {fd_rtol:g}, atol {fd_atol:g})")
        rows = [("point", "leaf", "shape", "closed-auto abs", "rel", "at",
                 "auto-FD abs", "rel", "at", "FD", "")]
        for leaf in self.leaves:
            c, d = leaf.closed, leaf.fd
            fd_cells = ("-", "-", "-") if d is None else (f"{d.max_abs:.2e}", f"{d.max_rel:.2e}",
                                                          str(d.index))
            rows.append((str(leaf.point), leaf.path, str(leaf.shape), f"{c.max_abs:.2e}",
                         f"{c.max_rel:.2e}", str(c.index), *fd_cells, leaf.fd_method,
                         "ok" if leaf.ok else "FAIL"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join([head, *lines])


def compare(got: Any, want: Any, rtol: float, atol: float) -> Comparison:
    """Compare ``got`` with ``want`` elementwise under ``|got − want| ≤ atol + rtol·|want|``.

    Args:
        got: array of any shape.
        want: the reference, same shape as ``got``.
        rtol: relative tolerance ≥ 0.
        atol: absolute tolerance ≥ 0.

    Returns:
        the :class:`Comparison` (in float64; empty arrays pass).
    """
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err, scale = np.abs(got - want), np.abs(want)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / scale)
        excess = np.where(err == 0, 0.0, err / (atol + rtol * scale))
    if err.size == 0:
        return Comparison(0.0, 0.0, (), True)
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), err.shape))
    ok = bool(np.all(err <= atol + rtol * scale))
    return Comparison(float(np.max(err)), float(np.max(rel)), index, ok)
