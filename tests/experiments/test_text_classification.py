"""Smoke run of text-classification on tiny synthetic topic documents, and its data pipeline."""

import numpy as np
import pytest

from jaxnn_experiments import text_classification as tc
from jaxnn.errors import JaxnnError

TINY = {
    "datasets": ["synthetic"], "seeds": 1,
    "models": {"bag_mean": dict(tc.MODELS["bag_mean"], m=8),
               "bag_max": dict(tc.MODELS["bag_max"], m=8, bigrams=16),
               "cnn": dict(tc.MODELS["cnn"], m=8, maps=4),
               "lstm": dict(tc.MODELS["lstm"], m=8, hidden_size=8)},
    "train": dict(tc.QUICK["train"], epochs=3, batch=20, lr=1e-2, patience=2),
    "synthetic": {"n_docs": 200, "n_classes": 3, "vocab_size": 60, "min_len": 5,
                  "max_len": 15, "signal": 0.5},
}


def test_smoke(run_experiment):
    saved = run_experiment("text-classification", TINY)
    m = saved["metrics"]
    for model in TINY["models"]:
        acc = m[f"test_accuracy_synthetic_{model}"]
        assert 0.0 <= acc <= 1.0
        r = saved["extra"]["synthetic"]["models"][model]
        assert np.sum(r["confusion"]) == 20  # the test split: 10% of 200
        assert set(r["per_class"]) == {"topic0", "topic1", "topic2"}
        assert len(r["misclassified"]) <= 5
        ps = [e["p"] for e in r["misclassified"]]
        assert ps == sorted(ps, reverse=True)
        assert all(e["true"] != e["predicted"] for e in r["misclassified"])
    # an easy source (signal 0.5): the bag of word vectors beats the majority class
    assert m["test_accuracy_synthetic_bag_mean"] > m["majority_synthetic"]
    assert 0.0 < m["bayes_synthetic"] <= 1.0
    assert len(saved["plots"]) == 2


def test_vocabulary_comes_from_the_training_split_only():
    docs = [["a", "b"], ["a", "c"], ["d", "d", "d", "d", "d", "d"]]
    split = type("S", (), {"train": np.array([0, 1]), "valid": np.array([2]),
                           "test": np.array([2])})
    labels = np.array([0, 1, 0], np.int32)
    vocab, data, info = tc.encode(docs, labels, split, {"min_count": 1, "max_length": 4,
                                                        "length_quantile": 1.0})
    assert "d" not in vocab and info["length"] == 5  # at least 5 (the CNN's widest filter)
    ids, mask, y = data["valid"]
    assert ids.shape == (1, 5) and mask.tolist() == [[True] * 5]
    assert set(ids[0].tolist()) == {vocab.unk_id}


def test_unknown_dataset_and_model_kind():
    with pytest.raises(JaxnnError, match="dataset"):
        tc.load_dataset("imdb", tc.QUICK, 0)
    with pytest.raises(JaxnnError, match="model kind"):
        tc.make_config({"kind": "transformer"}, 10, 2)
