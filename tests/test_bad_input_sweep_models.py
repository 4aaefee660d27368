"""The bad-input sweep, second part: the models' apply/loss, jaxnn.optim and jaxnn.train.

The case machinery and the assertion are those of tests/test_bad_input_sweep.py: every call
raises a :class:`jaxnn.errors.JaxnnError` whose message names the bad argument or value.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import test_bad_input_sweep as first
from jaxnn import optim
from jaxnn.models import (classifiers, generative, language, lenet, linear, mlp, ngram, nplm,
                          perceptron, sequence, svm, threshold)
from test_bad_input_sweep import (INF, NAN, Case, K, drop_key, f32, reshape_leaf, with_inf,
                                  with_nan)
from jaxnn.train import fit, make_train_step

CASES: list[Case] = []


def add(id: str, fn, match: str) -> None:
    CASES.append(Case(id, fn, match))


XR = f32(2, 4, 2)

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


# =========================================================================== the test


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_refused_naming_it(case: Case):
    first.check_case(case)


def test_the_sweep_has_at_least_300_cases():
    ids = [c.id for c in first.CASES + CASES]
    assert len(ids) >= 300
    assert len(set(ids)) == len(ids)
