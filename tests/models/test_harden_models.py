"""Models refuse what is not their config, parameters that do not fit it (naming the key and
both shapes) and integer inputs where floats belong; a sequence model's lengths > T are
caught before training."""

import functools

import jax
import numpy as np
import pytest

from jaxnn import optim
from jaxnn.errors import JaxnnError, ShapeError
from jaxnn.models import generative, lenet, linear, mlp, perceptron, sequence, svm, threshold
from jaxnn.train import fit

KEY = jax.random.key(0)


@pytest.mark.parametrize("module", [mlp, linear, perceptron, svm, threshold, generative, lenet,
                                    sequence])
def test_init_refuses_a_bare_tuple_of_widths(module):
    # mlp.init(K, (8, 2.5, 3)) used to fail as AttributeError, never naming the width 2.5
    with pytest.raises(JaxnnError, match=r"Config.*tuple"):
        module.init(KEY, (8, 2.5, 3))


def test_mlp_config_refuses_a_fractional_width():
    with pytest.raises(JaxnnError, match=r"bad: 2.5"):
        mlp.MLPConfig((8, 2.5, 3))


def test_perceptron_names_missing_params():
    c = perceptron.PerceptronConfig(2)
    with pytest.raises(JaxnnError, match=r"params must be \{'w': \(3,\)\}.*got \['v'\]"):
        perceptron.apply({"v": np.zeros(3, np.float32)}, np.ones((1, 2), np.float32), config=c)


def test_linear_names_the_keys_not_the_arrays():
    c = linear.LinearConfig(2)
    with pytest.raises(JaxnnError, match=r"got \['W'\]$"):
        linear.apply({"W": np.zeros((1, 2), np.float32)}, np.ones((1, 2), np.float32), config=c)


def test_lenet_names_the_missing_key_and_the_wrong_shape():
    c = lenet.LeNetConfig()
    p = lenet.init(KEY, c)
    x = np.zeros((1, 32, 32), np.float32)
    q = {**p, "output": {}}
    with pytest.raises(JaxnnError, match=r"missing params\['output'\]\['centres'\] "
                                         r"\(shape \(10, 84\)\)"):
        lenet.apply(q, x, config=c)  # used to be KeyError: 'centres'
    q = {**p, "F6": {**p["F6"], "W": np.zeros((84, 121), np.float32)}}
    with pytest.raises(ShapeError, match=r"params\['F6'\]\['W'\] has shape \(84, 121\); "
                                         r"expected \(84, 120\)"):
        lenet.loss(q, (x, np.zeros(1, np.int32)), config=c)  # used to be a dot_general error


@pytest.mark.parametrize("name", ["mlp", "linear", "perceptron", "lenet", "sequence"])
def test_integer_inputs_where_floats_belong_are_refused(name):
    cases = {
        "mlp": (mlp, mlp.MLPConfig((2, 3)), (4, 2)),
        "linear": (linear, linear.LinearConfig(2), (4, 2)),
        "perceptron": (perceptron, perceptron.PerceptronConfig(2), (4, 2)),
        "lenet": (lenet, lenet.LeNetConfig(), (1, 32, 32)),
        "sequence": (sequence, sequence.SequenceConfig("rnn", 2, 3, 1), (4, 5, 2)),
    }
    module, c, shape = cases[name]
    with pytest.raises(JaxnnError, match="floating"):
        module.apply(module.init(KEY, c), np.ones(shape, np.int32), config=c)


def test_sequence_lengths_longer_than_t_are_refused_before_training():
    # under fit's jit the lengths are traced and a length 7 > T = 5 was read as T
    c = sequence.SequenceConfig("gru", 2, 3, 2, task="cross_entropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5, 2)).astype(np.float32)
    y = (np.arange(8) % 2).astype(np.int32)
    lengths = np.full(8, 5, np.int32)
    lengths[6] = 7
    with pytest.raises(JaxnnError, match=r"train_data\[2\]\[6\] = 7.*lengths must lie in"):
        fit(sequence.init(KEY, c), functools.partial(sequence.loss, config=c), optim.sgd(0.1),
            (x, y, lengths), epochs=1, batch_size=4, key=KEY, progress=False)
