"""Smoke run of text-classification on tiny synthetic topic documents, and its data pipeline."""

import numpy as np
import pytest

from jaxnn_experiments import text_classification as tc
from jaxnn.errors import JaxnnError
from jaxnn.overrides import override, parse_sets

def _tiny() -> dict:
    d = tc.dataset_config({"min_count": 1, "length_quantile": 0.95, "max_length": 64},
                          dict(tc.QUICK["synthetic"]["models"]["cnn"]["train"], epochs=3,
                               batch=20, lr=1e-2, patience=2),
                          {"bag_mean": {"m": 8}, "bag_max": {"m": 8, "bigrams": 16},
                           "cnn": {"m": 8, "maps": 4}, "lstm": {"m": 8, "hidden_size": 8}})
    d["source"] = {"n_docs": 200, "n_classes": 3, "vocab_size": 60, "min_len": 5,
                   "max_len": 15, "signal": 0.5}
    return {"datasets": ["synthetic"], "seeds": 1, "models": list(tc.MODELS), "synthetic": d}


TINY = _tiny()


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


def _leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def test_every_field_of_full_is_settable_by_a_dotted_key():
    """Each model of each data set carries every field it reads (its recipe included), so any
    change of one is a ``--set DATASET.models.NAME.FIELD=VALUE`` item."""
    keys = dict(_leaves(tc.FULL))
    assert "bbc.models.bag_max.train.epochs" in keys and "rt.models.cnn.dropout" in keys
    for key, value in keys.items():       # each leaf accepts its own value back
        assert override(tc.FULL, {key: value}, experiment="t") == tc.FULL
    cfg = override(tc.FULL, parse_sets(["bbc.models.bag_max.m=128", "rt.data.min_count=1",
                                        "bbc.models.cnn.train.epochs=9"]), experiment="t")
    assert cfg["bbc"]["models"]["bag_max"]["m"] == 128
    assert cfg["rt"]["models"]["bag_max"]["m"] == tc.FULL["rt"]["models"]["bag_max"]["m"]
    assert cfg["rt"]["data"]["min_count"] == 1
    assert cfg["bbc"]["models"]["cnn"]["train"]["epochs"] == 9
    assert cfg["bbc"]["models"]["lstm"]["train"] == tc.FULL["bbc"]["models"]["lstm"]["train"]
    with pytest.raises(JaxnnError, match="valid keys of bbc.models.cnn"):
        override(tc.FULL, {"bbc.models.cnn.hidden": [10]}, experiment="t")


def test_an_unknown_model_name_is_refused_before_any_data_is_read():
    with pytest.raises(JaxnnError, match="model of synthetic"):
        tc.run_dataset("synthetic", dict(TINY, models=["bag_mean", "cnnn"]), 0)
