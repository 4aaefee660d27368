"""Every model's init / apply / loss / gradient and one train step also run with 64-bit
floats enabled (``jax.enable_x64``), where integer counts and index arithmetic turn 64-bit:
a public function must work in both precisions (the perceptron's ``fit`` did not)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnn.models import (classifiers, generative, language, lenet, linear, mlp, nplm,
                          perceptron, sequence, svm, threshold)
from jaxnn.train import make_train_step

R = np.random.default_rng(0)
X2 = R.normal(size=(6, 2)).astype(np.float32)
IDS = R.integers(0, 10, (4, 5)).astype(np.int32)
MASK = np.ones((4, 5), bool)
MASK[0, 3:] = False
Y3 = np.array([0, 1, 2, 1], np.int32)

# name -> (module, config, batch)
CASES = {
    "mlp": (mlp, mlp.MLPConfig(sizes=(2, 4, 3)), (X2, np.array([0, 1, 2, 0, 1, 2], np.int32))),
    "linear-softmax": (linear, linear.LinearConfig(n_in=2, n_out=3, kind="softmax"),
                       (X2, np.array([0, 1, 2, 0, 1, 2], np.int32))),
    "linear-regression": (linear, linear.LinearConfig(n_in=2, n_out=1, kind="regression"),
                          (X2, X2[:, 0])),
    "svm": (svm, svm.SVMConfig(n_in=2), (X2, np.array([1, -1, 1, -1, 1, -1], np.float32))),
    "perceptron": (perceptron, perceptron.PerceptronConfig(n_in=2),
                   (X2, np.array([1, -1, 1, -1, 1, -1], np.float32))),
    "sequence": (sequence, sequence.SequenceConfig(input_size=2, hidden_size=3),
                 (R.normal(size=(3, 4, 2)).astype(np.float32), np.array([0, 1, 0], np.int32))),
    "lenet": (lenet, lenet.LeNetConfig(), (R.normal(size=(2, 32, 32)).astype(np.float32),
                                           np.array([3, 7], np.int32))),
    "nplm": (nplm, nplm.NPLMConfig(vocab_size=10, n=3, m=4, h=5), (IDS[:, :2], IDS[:, 2])),
    "bag": (classifiers, classifiers.BagConfig(vocab_size=10, num_classes=3, m=4),
            (IDS, MASK, Y3)),
    "cnn": (classifiers, classifiers.CNNConfig(vocab_size=10, num_classes=3, m=4, widths=(2,),
                                               maps=3), (IDS, MASK, Y3)),
    "lstm-classifier": (classifiers, classifiers.LSTMConfig(vocab_size=10, num_classes=3, m=4,
                                                            hidden_size=5), (IDS, MASK, Y3)),
}


def _scalar_loss(module, cfg):
    def f(p, batch):
        out = module.loss(p, batch, config=cfg)
        return out
    return f


@pytest.mark.parametrize("name", list(CASES))
def test_model_runs_with_x64(name, x64):
    module, cfg, batch = CASES[name]
    params = module.init(jax.random.key(0), cfg)
    x = batch[:-1] if len(batch) == 3 else batch[0]
    y = module.apply(params, x if len(batch) == 3 else x, config=cfg)
    assert np.all(np.isfinite(np.asarray(y, np.float64)))
    f = _scalar_loss(module, cfg)
    value, grads = jax.value_and_grad(f)(params, batch)
    assert np.isfinite(float(value))
    for g, p in zip(jax.tree.leaves(grads), jax.tree.leaves(params)):
        assert g.shape == p.shape and g.dtype == p.dtype
        assert np.all(np.isfinite(np.asarray(g)))
    step = make_train_step(f, optax.sgd(0.01))
    new, _, loss = step(params, optax.sgd(0.01).init(params), batch, None)[:3]
    assert np.isfinite(float(loss))
    assert jax.tree.structure(new) == jax.tree.structure(params)


def test_language_model_runs_with_x64(x64):
    cfg = language.LMConfig(vocab_size=10, m=4, h=5)
    params = language.init(jax.random.key(0), cfg)
    value, _ = language.loss(params, (IDS[:, :4], IDS[:, 1:]), config=cfg)
    grads = jax.grad(lambda p: language.loss(p, (IDS[:, :4], IDS[:, 1:]), config=cfg)[0])(params)
    assert np.isfinite(float(value))
    assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grads))


def test_threshold_generative_and_perceptron_fit_with_x64(x64):
    p = threshold.init(jax.random.key(0), threshold.ThresholdConfig())
    out = threshold.apply(p, jnp.array([[0.0, 1.0], [1.0, 1.0]]), config=threshold.ThresholdConfig())
    assert out.shape[0] == 2
    y = np.array([0, 1, 0, 1, 0, 1], np.int32)
    gcfg = generative.GenerativeConfig(n_in=2, num_classes=2)
    g = generative.fit(X2.astype(np.float64), y, config=gcfg)
    assert np.all(np.isfinite(np.asarray(generative.apply(g, X2, config=gcfg))))
    fit = perceptron.fit(X2, np.where(X2[:, 0] > 0, 1.0, -1.0), config=perceptron.PerceptronConfig(n_in=2))
    assert np.all(np.isfinite(np.asarray(jax.tree.leaves(fit)[0], np.float64)))
