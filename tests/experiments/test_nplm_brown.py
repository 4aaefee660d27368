"""Smoke runs of nplm-brown with tiny configs: the synthetic quick path with every model, the
Brown path (both vocabulary rules) on a tiny corpus standing in for Brown, and a resumed run."""

import copy

import jax
import numpy as np
import pytest

from jaxnn_experiments import nplm_brown as exp
from jaxnn.errors import JaxnnError

TINY_TRAIN = {**exp.QUICK["nplm"], "batch_size": 32, "eval_every": 20, "eval_tokens": 500,
              "patience": 2, "max_epochs": 1, "time_budget_s": 20.0}
TINY = {**copy.deepcopy(exp.QUICK), "nplm": TINY_TRAIN,
        "source": {"vocab_size": 20, "order": 1, "concentration": 0.3, "seed": 0,
                   "train": 3000, "valid": 600, "test": 600},
        "lstm": {**exp.QUICK["lstm"], "m": 8, "h": 8, "batch_size": 4, "steps": 10,
                 "max_epochs": 1},
        "samples": 2, "sample_length": 5, "temperatures": [1.0], "neighbour_words": 3,
        "neighbours": 2, "projection_words": 15}


def test_quick_path_every_model(run_experiment):
    rec = run_experiment("nplm-brown", TINY)
    m = rec["metrics"]
    floor = m["true_perplexity"]
    for name in ("trigram", "kn3", "kn5", "mlp1", "mlp9", "mlp10", "nplm", "mlp9_trigram_fitted",
                 "mlp1_trigram_fitted", "nplm_trigram_fitted"):
        v = m[f"test_perplexity_{name}"]
        assert floor * 0.95 < v < 20 * 1.5, (name, v)  # above the floor (up to sampling noise)
    # a fitted mixture is at least as good on test as the worse of its two parts
    for nn in ("mlp9", "mlp1", "nplm"):
        assert m[f"test_perplexity_{nn}_trigram_fitted"] <= max(
            m[f"test_perplexity_{nn}"], m["test_perplexity_trigram"]) + 1e-6, nn
    ex = rec["extra"]
    assert 0 < ex["mixture_weight_paper"] < 1
    assert 0 < ex["mixture_weight_mlp1_paper"] < 1 and 0 < ex["mixture_weight_nplm_paper"] < 1
    # each NPLM trains at its own shape: the paper's two without dropout, ours with it
    assert ex["nplm_paper_training"]["tokens_per_s"] > 0
    assert exp.QUICK["nplm"]["mlp1"] == {"n": 5, "m": 60, "h": 50, "direct": True, "dropout": 0.0}
    assert exp.QUICK["nplm"]["nplm"]["dropout"] > 0
    words = ex["mlp1_paper_words"]
    assert len(words["samples"]["1.0"]) == 2 and len(words["samples"]["1.0"][0].split()) == 5
    assert all(len(v) == 2 for v in words["neighbours"].values())
    assert ex["mlp1_paper_training"]["tokens_per_s"] > 0
    curve = ex["mlp1_paper_curve"]
    assert curve[-1]["valid_perplexity"] < curve[0]["valid_perplexity"] * 1.2
    assert "learning_curves_paper.png" in rec["plots"]
    if "test_perplexity_lstm" in m:
        assert floor * 0.95 < m["test_perplexity_lstm"] < 30
    else:
        assert "skipped" in rec["notes"]


def test_brown_path_both_rules(tmp_path, monkeypatch):
    """``data="brown"`` on a stand-in corpus: both rules, the _trainvocab suffix, the paper's
    reference numbers beside ours."""
    from jaxnn.data import corpora, synthetic_text

    src = synthetic_text.markov_source(1, 40, 1, 0.3)
    tokens = [src.words[i] for i in src.sample(5000, 2)]
    monkeypatch.setattr(corpora, "brown_lm", lambda directory=None, rule="paper", markers=False:
                        corpora.lm_split(tokens, rule=rule, sizes=(3500, 700), max_rare=3))
    cfg = {**TINY, "data": "brown", "rules": ["paper", "train"],
           "models": ["trigram", "kn5", "mlp9"]}
    res = exp.run(cfg, tmp_path, 0)
    for key in ("test_perplexity_trigram", "test_perplexity_kn5", "test_perplexity_mlp9",
                "test_perplexity_trigram_trainvocab", "test_perplexity_mlp9_trainvocab"):
        assert np.isfinite(res.metrics[key]) and res.metrics[key] > 1
    assert res.reference["test_perplexity_mlp1"] == 268.0
    info = res.extra["data_train"]
    assert info["rule"] == "train" and info["histories_cross_split_boundaries"] is True
    assert "mlp1" not in " ".join(res.metrics)


def test_training_resumes_from_its_checkpoint(tmp_path):
    cfg = copy.deepcopy(TINY)
    d = exp.load_data(cfg, "paper")
    t = {**TINY_TRAIN, "checkpoint": True, "max_epochs": 1, "eval_every": 30}
    ck = tmp_path / "ck" / "mlp9"
    first = exp.train_nplm("mlp9", d, {**t, "patience": 100}, jax.random.key(0), ck)
    n1 = len(first["curve"])
    assert n1 == 3000 // 32 // 30
    again = exp.train_nplm("mlp9", d, {**t, "patience": 100, "max_epochs": 2},
                           jax.random.key(0), ck)
    assert len(again["curve"]) == 2 * 3000 // 32 // 30 > n1
    assert again["curve"][:n1] == first["curve"]
    assert (tmp_path / "ck" / "mlp9.jsonl").exists()


def test_the_lstm_lm_resumes_from_its_checkpoint_as_if_never_stopped(tmp_path):
    d = exp.load_data(copy.deepcopy(TINY), "paper")
    t = {**TINY["lstm"], "patience": 100, "time_budget_s": 1e9}
    ck = tmp_path / "ck" / "lstm"
    first = exp.lstm_logprobs(d, {**t, "max_epochs": 1}, jax.random.key(0), ck)
    again = exp.lstm_logprobs(d, {**t, "max_epochs": 3}, jax.random.key(0), ck)
    straight = exp.lstm_logprobs(d, {**t, "max_epochs": 3}, jax.random.key(0))
    assert len(first["curve"]) == 1 and again["curve"][:1] == first["curve"]
    ppl = lambda r: [c["valid_perplexity"] for c in r["curve"]]  # noqa: E731
    assert len(ppl(again)) == 3 and ppl(again) == ppl(straight)
    np.testing.assert_array_equal(again["test"], straight["test"])
    # a run whose checkpoint says it already stopped trains no further epoch
    done = exp.lstm_logprobs(d, {**t, "max_epochs": 3, "patience": 0}, jax.random.key(0), ck)
    assert len(done["curve"]) == 3


def test_unknown_model_and_optimizer():
    with pytest.raises(JaxnnError, match="unknown models"):
        exp.run({**TINY, "models": ["mlp2"]}, "/nonexistent", 0)
    from jaxnn.models import nplm

    with pytest.raises(JaxnnError, match="optimizer"):
        exp.make_optimizer(nplm.mlp9(10), {**TINY_TRAIN, "optimizer": "rmsprop"})
    opt = exp.make_optimizer(nplm.mlp9(10), {**TINY_TRAIN, "optimizer": "sgd"})
    assert opt.init(nplm.init(jax.random.key(0), nplm.mlp9(10))) is not None


def _check_plateau(curve, factor, threshold=0.0):
    """Each evaluation's lr_scale is the previous one, times ``factor`` after every evaluation
    that did not beat the best so far by the relative ``threshold``."""
    best, want = float("inf"), 1.0
    for c in curve:
        assert c["lr_scale"] == pytest.approx(want)
        if not c["valid_perplexity"] < best * (1 - threshold):
            want *= factor
        best = min(best, c["valid_perplexity"])


def test_the_step_shrinks_after_every_evaluation_that_is_not_the_best():
    d = exp.load_data(copy.deepcopy(TINY), "paper")
    # a rate far too high for this source, so that validation stalls and rises
    t = {**TINY_TRAIN, "lr": 0.3, "eval_every": 10, "patience": 100, "plateau_factor": 0.5}
    r = exp.train_nplm("mlp9", d, t, jax.random.key(0), None)
    assert any(c["lr_scale"] < 1 for c in r["curve"])
    _check_plateau(r["curve"], 0.5)
    const = exp.train_nplm("mlp9", d, {**t, "plateau_factor": 1.0}, jax.random.key(0), None)
    assert all(c["lr_scale"] == 1.0 for c in const["curve"])
    res = exp.lstm_logprobs(d, {**TINY["lstm"], "lr": 0.3, "max_epochs": 4, "patience": 10},
                            jax.random.key(0))
    assert len(res["curve"]) == 4 and res["epochs"] == 4
    _check_plateau(res["curve"], 0.5)
    # a threshold of 0.9 counts no epoch after the first as progress: the step halves each time
    res = exp.lstm_logprobs(d, {**TINY["lstm"], "max_epochs": 3, "patience": 10,
                                "plateau_threshold": 0.9}, jax.random.key(0))
    assert [c["lr_scale"] for c in res["curve"]] == [1.0, 1.0, 0.5]
    _check_plateau(res["curve"], 0.5, 0.9)
    with pytest.raises(JaxnnError, match="plateau_threshold"):
        exp.lstm_logprobs(d, {**TINY["lstm"], "plateau_threshold": 1.0}, jax.random.key(0))


@pytest.mark.parametrize("factor", [0.0, 1.5, True, "half"])
def test_a_bad_plateau_factor_is_a_clear_error(factor):
    d = exp.load_data(copy.deepcopy(TINY), "paper")
    with pytest.raises(JaxnnError, match="plateau_factor"):
        exp.train_nplm("mlp9", d, {**TINY_TRAIN, "plateau_factor": factor},
                       jax.random.key(0), None)
