"""Check a hand-derived gradient or Jacobian the way jaxnn checks its own.

A closed form ``closed_form(*args)`` is compared, in float64, with ``jax.grad`` (or
``jax.jacrev``) of ``f`` at the same arguments, and ``jax.grad`` is in turn compared with
central finite differences of ``f``, so a slip shows up even where the closed form and
autodiff are both "right" about the wrong function. Checking the gradient of the squared loss
of a linear model, J(w) = ½‖Xw − y‖², whose derivation gives ∂J/∂w = Xᵀ(Xw − y)::

    import jax, jax.numpy as jnp, jaxnn.check
    def J(w, x, y): return 0.5 * jnp.sum((x @ w - y) ** 2)      # squared loss of a linear model
    def grad_J(w, x, y): return x.T @ (x @ w - y)                # the derivation: Xᵀ(Xw − y)
    x, y, w = jax.random.normal(jax.random.key(0), (5, 3)), jnp.arange(5.0), jnp.zeros(3)
    print(jaxnn.check.assert_gradient(grad_J, J, w, x, y, n_random=3))  # a slip raises, with the table

How it works:

- **float64.** Everything runs inside ``jax.enable_x64(True)``; every floating leaf of every
  argument is cast to float64 (integer leaves, e.g. labels, are left alone).
- **points.** ``args``, or instead a list ``points`` of argument tuples; ``n_random`` adds
  that many random points after each, every differentiated argument plus N(0, ``scale``²)
  noise (seeded by ``key``). Keep ``n_random=0`` where ``f``'s domain is restricted.
- **closed form vs autodiff.** ``closed_form(*args)`` must return exactly the pytree
  ``jax.grad(f, argnums)(*args)`` returns (a tuple for tuple ``argnums``); a different
  structure or leaf shape raises :class:`jaxnn.errors.ShapeError` naming the path and both
  shapes. Each element passes if ``|closed − auto| ≤ atol + rtol·|auto|`` (the rule of
  ``numpy.allclose`` and ``chex.assert_trees_all_close``).
- **autodiff vs finite differences.** Central differences (f(θ + εv) − f(θ − εv)) / 2ε, one
  leaf at a time (every other leaf fixed): leaves of at most ``fd_max_coords`` elements are
  probed along every coordinate (v = e_j, giving the whole leaf of the derivative); larger
  ones along ``fd_directions`` random unit directions v, comparing the directional derivative
  with ⟨∂f/∂θ, v⟩ (for a Jacobian, J v). That costs 2 evaluations of ``f`` per probe, in one
  jitted ``jax.vmap`` for all leaves (memory: ``fd_batch`` copies of the parameters). Each
  element passes if ``|auto − fd| ≤ fd_atol + fd_rtol·|fd|``.
  Turn it off with ``fd=False`` at a kink, where the one-sided derivatives differ and jax
  picks one.
- ``f`` must be traceable (it is differentiated, vmapped and jitted); ``closed_form`` runs
  eagerly, once per point, so it may use Python floats and control flow.

The :class:`GradientReport` has one :class:`LeafCheck` per point and leaf: the largest
absolute and relative error of each comparison and the index where the tolerance is most
exceeded (for directional differences: the direction, then the output index). ``print`` it
for the table; ``report.ok``; ``report.assert_ok()`` raises ``AssertionError`` with the table.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn._check_report import Comparison, GradientReport, LeafCheck, compare
from jaxnn.errors import JaxnnError, ShapeError, check_positive

__all__ = ["Comparison", "LeafCheck", "GradientReport", "gradient", "jacobian",
           "assert_gradient", "assert_jacobian"]


def _to_float64(tree: Any) -> Any:
    def cast(x):
        if isinstance(x, float) or (hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)):
            return jnp.asarray(x, jnp.float64)
        return x

    return jax.tree.map(cast, tree)


def _arg_names(f: Callable, n: int) -> list[str]:
    """Names of f's first n positional parameters, ``args[i]`` where the signature won't say."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [positional[i] if i < len(positional) else f"args[{i}]" for i in range(n)]


def _named_leaves(tree: Any, argnums: tuple[int, ...], single: bool, names: list[str]) -> dict:
    """{name: leaf} of a derivative pytree, named by the argument, then the pytree path."""
    def name(path):
        if single:
            return names[argnums[0]] + jax.tree_util.keystr(tuple(path))
        head = path[0] if path else None
        if isinstance(head, jax.tree_util.SequenceKey) and head.idx < len(argnums):
            return names[argnums[head.idx]] + jax.tree_util.keystr(tuple(path[1:]))
        return "closed form" + jax.tree_util.keystr(tuple(path))

    return {name(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _match_structure(closed: Any, auto: Any, argnums, single, names, auto_name: str) -> None:
    """Raise :class:`ShapeError` naming the path unless closed and auto have one structure."""
    c_leaves = _named_leaves(closed, argnums, single, names)
    a_leaves = _named_leaves(auto, argnums, single, names)
    c_def, a_def = jax.tree.structure(closed), jax.tree.structure(auto)
    if c_def != a_def:
        missing, extra = sorted(set(a_leaves) - set(c_leaves)), sorted(set(c_leaves) - set(a_leaves))
        detail = (f"missing {missing}, unexpected {extra}" if missing or extra
                  else f"closed form {c_def}, {auto_name} {a_def}")
        raise ShapeError(f"closed form's pytree differs from {auto_name}'s: {detail}")
    for path, a in a_leaves.items():
        c_shape, a_shape = tuple(np.shape(c_leaves[path])), tuple(np.shape(a))
        if c_shape != a_shape:
            raise ShapeError(f"{path}: closed form has shape {c_shape}, {auto_name} has {a_shape}")


def _central_differences(f: Callable, eps: float, cache: dict) -> Callable:
    """``run(point, positions, V)``: (f(θ + εv) − f(θ − εv)) / 2ε for each row v of V (m, N),
    θ the leaves ``positions`` of the flattened ``point``, raveled and concatenated (N).
    One jitted ``vmap`` per point structure (so one compile for all leaves and points)."""

    def run(point: tuple, positions: tuple[int, ...], probes: np.ndarray) -> np.ndarray:
        leaves, treedef = jax.tree.flatten(point)
        is_dyn = tuple(isinstance(x, (jax.Array, np.ndarray)) for x in leaves)
        statics = tuple(x for x, d in zip(leaves, is_dyn) if not d)  # strings, ints, ...
        sig = (treedef, is_dyn, statics, positions)
        try:
            fn = cache.get(sig)
        except TypeError:  # an unhashable static argument: no reuse across points
            sig, fn = None, None
        if fn is None:
            @jax.jit
            def fn(dyn, probes):
                it_dyn, it_static = iter(dyn), iter(statics)
                full = [next(it_dyn) if d else next(it_static) for d in is_dyn]
                shapes = [jnp.shape(full[i]) for i in positions]
                theta = jnp.concatenate([jnp.ravel(full[i]) for i in positions])
                cuts = np.cumsum([int(np.prod(s, dtype=int)) for s in shapes])[:-1]

                def f_at(t):
                    moved = list(full)
                    for i, piece, shape in zip(positions, jnp.split(t, cuts), shapes):
                        moved[i] = piece.reshape(shape)
                    return f(*jax.tree.unflatten(treedef, moved))

                return jax.vmap(lambda v: (f_at(theta + eps * v) - f_at(theta - eps * v))
                                / (2 * eps))(probes)

            if sig is not None:
                cache[sig] = fn
        return np.asarray(fn([x for x, d in zip(leaves, is_dyn) if d], probes))

    return run


def _fd_leaf(probe: Callable, start: int, n_total: int, deriv: Any, out_shape: tuple, rng,
             rtol: float, atol: float, max_coords: int, directions: int,
             size: int) -> tuple[Comparison, str]:
    """``probe(V)`` (central differences along the rows of V, (size, n_total) -> (size, *out)),
    moving the leaf at ``start`` of θ only, against that leaf's derivative ``deriv``."""
    m_out = int(np.prod(out_shape, dtype=int))
    deriv = np.asarray(deriv, np.float64)
    n = deriv.size // m_out if m_out else 0
    if n == 0:
        return Comparison(0.0, 0.0, (), True), "coords"
    if n <= max_coords:
        v, method = np.eye(n), "coords"
    else:
        v = rng.standard_normal((directions, n))
        v, method = v / np.linalg.norm(v, axis=1, keepdims=True), f"{directions} dirs"
    # pad to whole chunks of one size for every leaf: one shape, one compile
    full = np.zeros((len(v) + (-len(v) % size), n_total))
    full[:len(v), start:start + n] = v
    fd = np.concatenate([probe(full[s:s + size]) for s in range(0, len(full), size)])
    fd = fd[:len(v)].reshape(len(v), m_out)  # fd[j] = ⟨∂f/∂θ, v_j⟩ (J v_j for a Jacobian)
    if method == "coords":  # the whole derivative leaf
        return compare(deriv, fd.T.reshape(deriv.shape), rtol, atol), method
    along = v @ deriv.reshape(m_out, n).T  # (directions, m_out)
    return compare(along.reshape((len(v), *out_shape)), fd.reshape((len(v), *out_shape)),
                    rtol, atol), method


def _argnums_tuple(argnums: int | Sequence[int], n_args: int) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums or any(not isinstance(i, int) or not 0 <= i < n_args for i in nums):
        raise JaxnnError(f"argnums must name arguments in [0, {n_args}); got {argnums!r}")
    return nums, single


def _base_points(args: tuple, points: Sequence | None) -> list[tuple]:
    if points is not None and args:
        raise JaxnnError(f"give either args or points, not both; got {len(args)} args and points")
    base = [tuple(p) if isinstance(p, tuple) else (p,) for p in
            (points if points is not None else [args])]
    if not base or not base[0]:
        raise JaxnnError("nothing to check at: pass f's arguments (or points=[(args...), ...])")
    return [_to_float64(p) for p in base]


def _perturbed(point: tuple, argnums: tuple[int, ...], scale: float, rng) -> tuple:
    """``point`` with N(0, scale²) noise added to every leaf of the differentiated arguments."""
    noisy = list(point)
    for a in argnums:
        noisy[a] = jax.tree.map(
            lambda x: jnp.asarray(np.asarray(x) + scale * rng.standard_normal(np.shape(x))),
            point[a])
    return tuple(noisy)


def _check(kind: str, closed_form: Callable, f: Callable, args: tuple, *,
           argnums: int | Sequence[int] = 0, points: Sequence | None = None, n_random: int = 0,
           scale: float = 1.0, key: jax.Array | int | None = None, rtol: float = 1e-10,
           atol: float = 1e-12, fd: bool = True, fd_eps: float = 1e-6, fd_rtol: float = 1e-6,
           fd_atol: float = 1e-8, fd_max_coords: int = 64, fd_directions: int = 8,
           fd_batch: int = 64) -> GradientReport:
    for name, value in dict(rtol=rtol, atol=atol, fd_rtol=fd_rtol, fd_atol=fd_atol,
                            n_random=n_random, fd_max_coords=fd_max_coords).items():
        check_positive(value, name, strict=False)
    for name, value in dict(fd_eps=fd_eps, fd_directions=fd_directions, fd_batch=fd_batch,
                            scale=scale).items():
        check_positive(value, name)
    if key is None or isinstance(key, int):
        key = jax.random.key(key or 0)
    bits = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    rng_points, rng_dirs = (np.random.default_rng(s) for s in np.random.SeedSequence(
        np.asarray(bits, np.uint32).ravel().tolist()).spawn(2))  # numpy: nothing to compile
    auto_name = "jax.grad" if kind == "gradient" else "jax.jacrev"
    rows = []
    with jax.enable_x64(True):
        base = _base_points(args, points)
        nums, single = _argnums_tuple(argnums, len(base[0]))
        names = _arg_names(f, len(base[0]))
        auto_fn = (jax.grad if kind == "gradient" else jax.jacrev)(f, nums[0] if single else nums)
        central = _central_differences(f, fd_eps, {})
        all_points = [q for p in base for q in
                      [p] + [_perturbed(p, nums, scale, rng_points) for _ in range(n_random)]]
        for p_idx, point in enumerate(all_points):
            out = jax.eval_shape(lambda point=point: f(*point))  # point may hold non-arrays
            if not isinstance(out, jax.ShapeDtypeStruct) or (kind == "gradient" and out.shape):
                want = "a scalar" if kind == "gradient" else "one array"
                hint = "; for a Jacobian use jaxnn.check.jacobian" if kind == "gradient" else ""
                raise ShapeError(f"{kind}() needs f to return {want}; f returns "
                                 f"{jax.tree.map(lambda s: s.shape, out)}{hint}")
            auto = auto_fn(*point)
            closed = _to_float64(closed_form(*point))
            _match_structure(closed, auto, nums, single, names, auto_name)
            offsets = np.cumsum([0] + [len(jax.tree.leaves(a)) for a in point])
            positions = tuple(int(offsets[i]) + t for i in nums  # in jax.tree.leaves(point)
                              for t in range(len(jax.tree.leaves(point[i]))))
            sizes = [int(np.size(x)) for x in jax.tree.leaves(tuple(point[i] for i in nums))]
            starts = np.cumsum([0] + sizes)
            chunk = min(fd_batch, max((n if n <= fd_max_coords else fd_directions for n in sizes),
                                      default=1))
            named = _named_leaves(auto, nums, single, names)
            for k, ((path, a), c) in enumerate(zip(named.items(), jax.tree.leaves(closed))):
                vs_fd, method = None, "off"
                if fd:
                    vs_fd, method = _fd_leaf(
                        lambda v, point=point: central(point, positions, v), int(starts[k]),
                        int(starts[-1]), a, out.shape, rng_dirs, fd_rtol, fd_atol,
                        fd_max_coords, fd_directions, chunk)
                rows.append(LeafCheck(p_idx, path, tuple(np.shape(a)),
                                      compare(c, a, rtol, atol), vs_fd, method))
    return GradientReport(kind, tuple(rows), (rtol, atol, fd_rtol, fd_atol, fd_eps))


def _validated(kind: str, closed_form: Callable, f: Callable, args: tuple,
               options: dict) -> GradientReport:
    """:func:`_check` after the arguments a caller can get wrong are named."""
    if not callable(closed_form):
        raise JaxnnError(f"closed_form must be a function of the same arguments as f; got "
                         f"{closed_form!r:.60}")
    if not callable(f):
        raise JaxnnError(f"f must be a function; got {f!r:.60}")
    known = [p for p in inspect.signature(_check).parameters if p not in
             ("kind", "closed_form", "f", "args")]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise JaxnnError(f"unknown option(s) {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(known)}")
    points = options.get("points")
    base = [tuple(p) if isinstance(p, tuple) else (p,) for p in
            (points if points is not None else [args])]
    if not base or not base[0]:
        return _check(kind, closed_form, f, args, **options)  # its message says what to pass
    nums, _ = _argnums_tuple(options.get("argnums", 0), len(base[0]))
    for point in base:
        for i in nums:
            for leaf in jax.tree.leaves(point[i] if i < len(point) else ()):
                dt = leaf.dtype if hasattr(leaf, "dtype") else np.result_type(leaf)
                if not jnp.issubdtype(dt, jnp.inexact):
                    raise JaxnnError(f"argument {i} of f is differentiated and must be "
                                     f"floating; got dtype {dt} (use .astype(float))")
                if not np.all(np.isfinite(np.asarray(leaf))):
                    raise JaxnnError(f"argument {i} of f holds non-finite values (NaN or inf)")
    return _check(kind, closed_form, f, args, **options)


def gradient(closed_form: Callable, f: Callable, *args: Any, **options: Any) -> GradientReport:
    """Compare a closed-form gradient with ``jax.grad`` and central differences, in float64.

    Args:
        closed_form: ``closed_form(*args)`` returns the pytree ``jax.grad(f, argnums)(*args)``
            returns: one leaf per leaf of the differentiated argument(s), of that leaf's
            shape (a tuple over the arguments for tuple ``argnums``).
        f: the scalar function, ``f(*args) -> ()``.
        *args: the point, ``f``'s positional arguments (pytrees of arrays or floats).
        **options: keyword only:

            - ``argnums``: which argument(s) to differentiate, as in ``jax.grad``; default 0.
            - ``points``: instead of ``args``, a sequence of argument tuples to check at (a
              bare non-tuple value is taken as the only argument).
            - ``n_random``: random points added after each point (its differentiated
              arguments plus N(0, ``scale``²) noise); default 0. ``scale``: default 1.0.
            - ``key``: PRNG key or int seed for the random points and directions; default
              ``key(0)``.
            - ``rtol``, ``atol``: closed form vs autodiff,
              ``|closed − auto| ≤ atol + rtol·|auto|``; default 1e-10, 1e-12.
            - ``fd``: also compare autodiff with central differences (turn off at a kink);
              default True.
            - ``fd_eps``: the step ε, default 1e-6; ``fd_rtol``, ``fd_atol``:
              ``|auto − fd| ≤ fd_atol + fd_rtol·|fd|``, default 1e-6, 1e-8.
            - ``fd_max_coords``: leaves of up to this many elements (default 64) are
              differenced along every coordinate, larger ones along ``fd_directions``
              (default 8) random unit directions; ``fd_batch``: probes per ``jax.vmap`` call
              (default 64), bounding memory.

    Returns:
        a :class:`GradientReport`, one row per point and leaf.

    Raises:
        ShapeError: the closed form's pytree or a leaf's shape differs from ``jax.grad``'s
            (the message names the path and both shapes), or ``f`` is not scalar.
        JaxnnError: a negative tolerance or count, a non-positive ``fd_eps``,
            ``fd_directions``, ``fd_batch`` or ``scale``, bad ``argnums``, or both ``args``
            and ``points``.
        TypeError: an unknown option.
    """
    return _validated("gradient", closed_form, f, args, options)


def jacobian(closed_form: Callable, f: Callable, *args: Any, **options: Any) -> GradientReport:
    """Compare a closed-form Jacobian with ``jax.jacrev`` and central differences, in float64.

    The mechanism of :func:`gradient` for ``f`` returning one array of shape ``out``: the
    derivative with respect to an argument leaf of shape ``s`` has shape ``out + s``
    (``jax.jacobian``'s numerator layout; the notes' denominator layout is its transpose),
    e.g. ``(K, K)`` for softmax's diag(y) − y yᵀ or an elementwise f's diag(f′(x)).
    Directional differences compare J v with (f(x + εv) − f(x − εv)) / 2ε.

    Args:
        closed_form: returns the pytree ``jax.jacrev(f, argnums)(*args)`` returns: per
            argument leaf of shape ``s``, an array of shape ``out + s``.
        f: ``f(*args) -> out``, one array.
        *args: the point, ``f``'s positional arguments.
        **options: as in :func:`gradient`.

    Returns:
        a :class:`GradientReport` (``kind="jacobian"``).

    Raises:
        ShapeError: as in :func:`gradient`, or ``f`` does not return one array.
    """
    return _validated("jacobian", closed_form, f, args, options)


def assert_gradient(closed_form: Callable, f: Callable, *args: Any, **options: Any) -> GradientReport:
    """:func:`gradient`, then :meth:`GradientReport.assert_ok`.

    Args:
        closed_form, f, *args, **options: as in :func:`gradient`.

    Returns:
        the :class:`GradientReport`, when it is ok.

    Raises:
        AssertionError: with the report's table, unless every row passes.
    """
    return gradient(closed_form, f, *args, **options).assert_ok()


def assert_jacobian(closed_form: Callable, f: Callable, *args: Any, **options: Any) -> GradientReport:
    """:func:`jacobian`, then :meth:`GradientReport.assert_ok`.

    Args:
        closed_form, f, *args, **options: as in :func:`jacobian`.

    Returns:
        the :class:`GradientReport`, when it is ok.

    Raises:
        AssertionError: with the report's table, unless every row passes.
    """
    return jacobian(closed_form, f, *args, **options).assert_ok()
