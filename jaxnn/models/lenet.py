"""LeNet-5 as published (LeCun, Bottou, Bengio & Haffner 1998) and a modern variant.

Qiu Xipeng, 《神经网络与深度学习》 (2015), LeNet-5 slides, and eq 150–159:

======  ==============================  =========  ===========
layer   what                            trainable  connections
======  ==============================  =========  ===========
C1      6@28×28, 5×5 convolution             156      122,304
S2      6@14×14, trainable subsampling        12        5,880
C3      16@10×10, 5×5, 6×16 table          1,516      151,600
S4      16@5×5, trainable subsampling         32        2,000
C5      120@1×1, 5×5 convolution          48,120       48,120
F6      84, fully connected               10,164       10,164
output  10 Euclidean RBF units (or softmax)
======  ==============================  =========  ===========

:func:`layer_counts` computes these from the parameter shapes and the layer geometry (a
connection is one multiply-add of a unit, its bias counted as one). For S2 it finds
6·196·(4+1) = 5,880, as LeCun et al. (1998) print; the notes' slide writes the same product
but then repeats C1's 122,304 — a slip. The code decides: 5,880. The same slide counts S2's
neurons as 14 × 14 = 196, per map (the layer has 6 × 196 = 1,176), and S4's connections as
"16 × (4 + 1) = 2000": that product is 80; the count is 16 × 25 × (4 + 1) = 2,000.

Every hidden unit uses the paper's scaled tanh ``f(a) = A·tanh(S·a)`` with A = 1.7159,
S = 2/3 (so f(±1) = ±1). The output layer is the paper's RBF: ``y_i = Σ_j (x_j − w_ij)²`` with
fixed ±1 centres drawn as 7×12 digit bitmaps (our own drawing of the paper's stylised
characters; they are not trained: ``lax.stop_gradient``), or a softmax layer. ``apply``
returns *scores* (B, C) for both heads — ``−y_i`` for RBF — so ``argmax`` predicts either way.
The RBF loss is the paper's MAP criterion (eq 9 of the paper),
``E = y_D + log(e^{−j} + Σ_i e^{−y_i})``, which is a cross-entropy over the scores plus one
"rubbish" class whose score is fixed at −j.

The modern variant (:data:`MODERN`) swaps in ReLU, 2×2 max pooling, full C3 connections and
a softmax output. Inputs are (B, 32, 32) or (B, 1, 32, 32). Every static choice lives in one
frozen, hashable :class:`LeNetConfig` (change one with ``dataclasses.replace``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxnn.errors import JaxnnError, ShapeError, check_floating, check_labels, check_tree
from jaxnn.models import _config as cfgcheck
from jaxnn.nn import activations, losses
from jaxnn.nn.conv import METHODS, conv, init_conv
from jaxnn.nn.layers import dense
from jaxnn.nn.pooling import init_subsample, pool, subsample


@dataclasses.dataclass(frozen=True)
class LeNetConfig:
    """Static choices of a LeNet-5 (frozen and hashable: a ``jit`` static argument, never traced).

    Attributes:
        activation: "scaled_tanh" (paper), or any name of :mod:`jaxnn.nn.activations`.
        A, S: scaled tanh A·tanh(S·a) (paper: 1.7159, 2/3).
        pooling: "subsample" (trainable, eq 155), "max" or "avg" (plain pooling, no params).
        down: down() of the trainable subsampling: "avg" (notes) or "sum" (paper).
        table: C3 connections: "lenet5" (the 6×16 table) or "full".
        output: "rbf" (paper) or "softmax".
        map_j: the constant j of the paper's MAP loss (RBF head only).
        num_classes: 10 (the RBF head has exactly 10 digit bitmaps).
        conv_method: how C1, C3, C5 are computed: "auto", "xla" or "toeplitz" (see
            :func:`jaxnn.nn.conv.conv`; the numbers agree up to float rounding).
        scale: weights start uniform in ±scale/F_in (LeCun et al. 1998: 2.4); None = Glorot
            uniform.
        dtype: floating dtype of the parameters (stored as its name).
    """

    activation: str = "scaled_tanh"
    A: float = 1.7159
    S: float = 2.0 / 3.0
    pooling: str = "subsample"
    down: str = "avg"
    table: str = "lenet5"
    output: str = "rbf"
    map_j: float = 1.0
    num_classes: int = 10
    conv_method: str = "auto"
    scale: float | None = 2.4
    dtype: Any = "float32"

    def __post_init__(self):
        cfgcheck.choice_field(self, "activation", ("scaled_tanh",) + activations.NAMES)
        cfgcheck.float_field(self, "A", lo=0.0, lo_open=True)
        cfgcheck.float_field(self, "S", lo=0.0, lo_open=True)
        cfgcheck.choice_field(self, "pooling", ("subsample", "max", "avg"))
        cfgcheck.choice_field(self, "down", ("avg", "sum"))
        cfgcheck.choice_field(self, "table", ("lenet5", "full"))
        cfgcheck.choice_field(self, "output", ("rbf", "softmax"))
        cfgcheck.float_field(self, "map_j")
        cfgcheck.int_field(self, "num_classes", minimum=1)
        if self.output == "rbf" and self.num_classes != 10:
            raise JaxnnError(f"the RBF head has 10 digit bitmaps; got LeNetConfig.num_classes="
                             f"{self.num_classes}")
        cfgcheck.choice_field(self, "conv_method", METHODS)
        if self.scale is not None:
            cfgcheck.float_field(self, "scale", lo=0.0, lo_open=True)
        cfgcheck.dtype_field(self, "dtype")


LENET5 = LeNetConfig()
MODERN = LeNetConfig(activation="relu", pooling="max", table="full", output="softmax")

# (name, kind, maps or units, kernel/region): the published geometry.
LAYERS = (("C1", "conv", 6, 5), ("S2", "pool", 6, 2), ("C3", "conv", 16, 5),
          ("S4", "pool", 16, 2), ("C5", "conv", 120, 5), ("F6", "dense", 84, None))
INPUT_SIZE = 32

_BITMAPS = """
..XXX.. ...XX.. .XXXXX. XXXXXX. ....XX. XXXXXXX ..XXXX. XXXXXXX .XXXXX. .XXXXX.
.X...X. ..XXX.. X.....X .....X. ...X.X. X...... .X..... X.....X X.....X X.....X
X.....X .X.XX.. X.....X .....X. ..X..X. X...... X...... .....X. X.....X X.....X
X.....X ...XX.. ......X ....X.. .X...X. X...... X...... .....X. X.....X X.....X
X.....X ...XX.. .....X. ...X... X....X. XXXXXX. X.XXXX. ....X.. .X...X. X.....X
X.....X ...XX.. ....X.. ..XXX.. X....X. ......X XX....X ....X.. ..XXX.. .XXXXXX
X.....X ...XX.. ...X... .....X. XXXXXXX ......X X.....X ...X... .X...X. ......X
X.....X ...XX.. ..X.... ......X .....X. ......X X.....X ...X... X.....X ......X
X.....X ...XX.. .X..... ......X .....X. ......X X.....X ..X.... X.....X ......X
X.....X ...XX.. X...... X.....X .....X. X.....X X.....X ..X.... X.....X .....X.
.X...X. ...XX.. X...... .X...X. .....X. .X...X. .X...X. .X..... X.....X ....X..
..XXX.. .XXXXXX XXXXXXX ..XXX.. .....X. ..XXX.. ..XXX.. .X..... .XXXXX. .XXX...
"""


def rbf_codes() -> np.ndarray:
    """The RBF centres: 7×12 bitmaps of the digits 0–9 as ±1 vectors, shape (10, 84)."""
    rows = [r.split() for r in _BITMAPS.strip().splitlines()]
    return np.array([[1.0 if c == "X" else -1.0 for r in rows for c in r[d]] for d in range(10)])


def lenet5_table() -> np.ndarray:
    """LeNet-5's C3 connection table (LeCun et al. 1998, table 1), shape (6, 16) bool.

    Built from the rule the notes state in words (Qiu Xipeng, 《神经网络与深度学习》 (2015),
    LeNet-5 slides): C3 maps 0–5 read every 3 consecutive S2 maps, maps 6–11 every 4
    consecutive maps, maps 12–14 three non-consecutive sets of 4, map 15 all six (wrapping
    around modulo 6). 60 connected filters in all.
    """
    cols = [[(k + i) % 6 for i in range(3)] for k in range(6)]
    cols += [[(k + i) % 6 for i in range(4)] for k in range(6)]
    cols += [[0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], list(range(6))]
    t = np.zeros((6, 16), bool)
    for k, rows in enumerate(cols):
        t[rows, k] = True
    return t


def activation(config: LeNetConfig) -> activations.Activation:
    """The hidden units' f and its closed-form f′ (scaled tanh: A·S·(1 − tanh²(S·a))).

    Args:
        config: :class:`LeNetConfig` (``activation``, ``A``, ``S``).

    Returns:
        :class:`jaxnn.nn.activations.Activation` with elementwise ``fn`` and ``prime``.
    """
    if config.activation != "scaled_tanh":
        return activations.get(config.activation)
    A, S = config.A, config.S
    return activations.Activation("scaled_tanh", lambda a: A * activations.tanh(S * a),
                                   lambda a: A * S * activations.tanh_prime(S * a))


def c3_table(config: LeNetConfig) -> np.ndarray | None:
    """C3's (6, 16) bool connection table (:func:`lenet5_table`), or None for full connections."""
    return lenet5_table() if config.table == "lenet5" else None


@functools.partial(jax.jit, static_argnames=("config",))
def init(key: jax.Array, config: LeNetConfig) -> dict:
    """Parameters of LeNet-5.

    Jitted (one compilation instead of one per eager op). Weights are uniform in
    ±``config.scale``/F_in with LeCun et al. (1998)'s scale 2.4 (F_in = fan-in of the unit);
    ``scale=None`` uses Glorot uniform. Biases start at 0; subsampling weights start at 1/|R|
    for ``down="sum"`` and 1 for "avg" (so S2 starts as the 2×2 average).

    Args:
        key: PRNG key (split into 7: six layers and the softmax head).
        config: :class:`LeNetConfig` (also gives ``scale`` and ``dtype``).

    Returns:
        {"C1": {"W": (6,1,5,5), "b": (6,)}, "S2": {"w": (6,), "b": (6,)} (or {} for plain
        pooling), "C3": {"W": (16,6,5,5), "b": (16,)}, "S4": {"w": (16,), "b": (16,)},
        "C5": {"W": (120,16,5,5), "b": (120,)}, "F6": {"W": (84,120), "b": (84,)},
        "output": {"centres": (10, 84)} (RBF) or {"W": (C, 84), "b": (C,)} (softmax)}.
    """
    cfgcheck.require_config(config, LeNetConfig, "lenet.init")
    scale, dtype = config.scale, config.dtype
    keys = jax.random.split(key, len(LAYERS) + 1)
    params: dict = {}
    maps_in = 1
    for k, (name, kind, n, size) in zip(keys, LAYERS):
        if kind == "conv":
            table = c3_table(config) if name == "C3" else None
            params[name] = init_conv(k, maps_in, n, (size, size), table=table, scale=scale,
                                     dtype=dtype)
        elif kind == "pool":
            w0 = 1.0 / size**2 if config.down == "sum" else 1.0
            params[name] = init_subsample(n, w=w0, dtype=dtype) if config.pooling == "subsample" \
                else {}
        else:
            params[name] = init_conv(k, maps_in, n, (), scale=scale, dtype=dtype)
        maps_in = n
    if config.output == "rbf":
        params["output"] = {"centres": jnp.asarray(rbf_codes(), dtype)}
    else:
        params["output"] = init_conv(keys[-1], maps_in, config.num_classes, (), scale=scale,
                                     dtype=dtype)
    return params


@functools.lru_cache(maxsize=32)
def _param_shapes(config: LeNetConfig) -> dict:
    """The shapes :func:`init` gives for ``config`` (``jax.ShapeDtypeStruct`` leaves)."""
    return jax.eval_shape(lambda k: init(k, config), jax.random.key(0))


def _as_images(x: jax.Array) -> jax.Array:
    shape = tuple(np.shape(x))
    if shape[1:] not in ((INPUT_SIZE, INPUT_SIZE), (1, INPUT_SIZE, INPUT_SIZE)):
        raise ShapeError(f"LeNet-5 takes (B, 32, 32) or (B, 1, 32, 32) images (MNIST padded to "
                         f"32×32); got shape {shape}")
    return x.reshape((shape[0], 1, INPUT_SIZE, INPUT_SIZE))


def features(params: dict, x: jax.Array, *, config: LeNetConfig) -> dict:
    """Every layer's pre-activation ``z`` and activation ``a`` (for plots and hand backprop).

    Args:
        params: from :func:`init`.
        x: (B, 32, 32) or (B, 1, 32, 32) float images.
        config: :class:`LeNetConfig`.

    Returns:
        {"input": {"a": (B,1,32,32)}, "C1": {"z", "a"}: (B,6,28,28), "S2": (B,6,14,14),
        "C3": (B,16,10,10), "S4": (B,16,5,5), "C5": (B,120), "F6": (B,84),
        "output": {"z": scores (B, C)}}. For plain pooling layers z is the pooled map and a = z.
    """
    cfgcheck.require_config(config, LeNetConfig, "lenet")
    check_tree(params, _param_shapes(config), "params", what="the shapes lenet.init gives for this config")
    check_floating(x, "x")
    f = activation(config).fn
    # computed channels-last ("NHWC"), the layout XLA's CPU convolutions use, so no transposes
    # run between layers; the maps are returned (B, P, H, W) — under jit, apply never pays
    # for those transposes (dead code).
    a = _as_images(x).reshape((-1, INPUT_SIZE, INPUT_SIZE, 1))
    nchw = lambda t: jnp.moveaxis(t, -1, 1) if t.ndim == 4 else t  # noqa: E731
    out = {"input": {"a": nchw(a)}}
    for name, kind, _, size in LAYERS:
        p = params[name]
        if kind == "conv":
            table = c3_table(config) if name == "C3" else None
            z = conv(a, p["W"], p["b"], table=table, channels_last=True,
                     method=config.conv_method)
            z = z.reshape(z.shape[:1] + z.shape[-1:]) if name == "C5" else z
            a = f(z)
        elif kind == "pool" and config.pooling == "subsample":
            z = subsample(p, a, size=size, kind=config.down, channels_last=True)
            a = f(z)
        elif kind == "pool":
            z = a = pool(a, size, kind=config.pooling, channels_last=True)
        else:
            z = dense(p, a)
            a = f(z)
        out[name] = {"z": nchw(z), "a": nchw(a)}
    head = params["output"]
    if config.output == "rbf":
        c = jax.lax.stop_gradient(head["centres"])
        scores = -jnp.sum((a[:, None, :] - c[None, :, :]) ** 2, axis=-1)
    else:
        scores = dense(head, a)
    out["output"] = {"z": scores}
    return out


def apply(params: dict, x: jax.Array, *, config: LeNetConfig, key: jax.Array | None = None,
          train: bool = False) -> jax.Array:
    """Class scores of LeNet-5, (B, C): −RBF penalties (paper) or softmax logits.

    Args:
        params: from :func:`init`.
        x: (B, 32, 32) or (B, 1, 32, 32) float images.
        config: :class:`LeNetConfig`.
        key, train: unused (no dropout in LeNet-5); kept for the shared model contract.

    Returns:
        (B, C) float scores; ``argmax`` over the last axis is the predicted class.
    """
    del key, train
    return features(params, x, config=config)["output"]["z"]


def loss(params: dict, batch: tuple, *, config: LeNetConfig,
         key: jax.Array | None = None) -> jax.Array:
    """Mean loss over the batch: the paper's MAP criterion (RBF) or softmax cross-entropy.

    Args:
        params: from :func:`init`.
        batch: (x (B, 32, 32) or (B, 1, 32, 32) float images, y (B,) int labels).
        config: :class:`LeNetConfig`.
        key: unused (no dropout).

    Returns:
        scalar. For RBF: mean of ``y_D + log(e^{−j} + Σ_i e^{−y_i})``.
    """
    del key
    x, y = batch
    cfgcheck.require_config(config, LeNetConfig, "lenet")
    check_labels(y, config.num_classes, "y")
    scores = apply(params, x, config=config)
    if config.output == "rbf":
        rubbish = jnp.full(scores.shape[:1] + (1,), -config.map_j, scores.dtype)
        scores = jnp.concatenate([scores, rubbish], axis=1)
    return losses.cross_entropy(scores, y)


class LayerCount(NamedTuple):
    """One row of :func:`summary`."""

    name: str
    shape: tuple
    params: int
    connections: int
    trainable: bool


def layer_counts(params: dict, *, config: LeNetConfig) -> list[LayerCount]:
    """Trainable parameters and connections of every layer, from shapes and geometry.

    A connection is one input (or the bias) of one unit; a conv unit of output map k has
    (number of input maps feeding k)·(filter size) + 1, a subsampling unit |R| + 1, a max/avg
    pooling unit |R|, a dense unit n_in + 1, an RBF unit n_in. The RBF centres are fixed
    (``trainable=False``).

    Args:
        params: from :func:`init`.
        config: :class:`LeNetConfig`.

    Returns:
        seven :class:`LayerCount` rows (C1 … F6, output).
    """
    shapes = jax.eval_shape(lambda p: features(p, jnp.zeros((1, 1, 32, 32)), config=config),
                            params)
    rows = []
    for name, kind, n, size in LAYERS:
        p, units = params[name], int(np.prod(shapes[name]["z"].shape[2:]))
        if kind == "conv":
            table = c3_table(config) if name == "C3" else None
            maps_in = p["W"].shape[1]
            fed = table.sum(axis=0) if table is not None else np.full(n, maps_in)
            per_map = fed * size * size + 1                      # per unit of each output map
            n_params = int(per_map.sum())
            conns = int(per_map.sum() * units)
        elif kind == "pool":
            has = config.pooling == "subsample"
            n_params = 2 * n if has else 0
            conns = n * units * (size * size + has)
        else:
            n_params = conns = int(np.prod(p["W"].shape) + p["b"].size)
        rows.append(LayerCount(name, tuple(shapes[name]["z"].shape[1:]), n_params, conns, True))
    head = params["output"]
    n_head = int(sum(np.size(v) for v in head.values()))
    rows.append(LayerCount("output", (config.num_classes,), n_head, n_head,
                           config.output != "rbf"))
    return rows


def summary(params: dict, *, config: LeNetConfig) -> str:
    """Per-layer table (maps, parameters, connections) as text; also printed.

    Args:
        params: from :func:`init`.
        config: :class:`LeNetConfig`.

    Returns:
        the table as one string.
    """
    lines = [f"{'layer':<7}{'output':>16}{'params':>10}{'connections':>13}",
             "-" * 46]
    for r in layer_counts(params, config=config):
        shape = "×".join(map(str, r.shape))
        note = "" if r.trainable else "  (fixed)"
        lines.append(f"{r.name:<7}{shape:>16}{r.params:>10,}{r.connections:>13,}{note}")
    total = sum(r.params for r in layer_counts(params, config=config) if r.trainable)
    lines.append(f"trainable parameters: {total:,}")
    text = "\n".join(lines)
    print(text)
    return text
