"""Smoke run of char-lm on a tiny Markov corpus, and its BBC path on a fake cached corpus."""

import jax
import numpy as np
import pytest

from jaxnn.errors import JaxnnError

from jaxnn_experiments import char_lm

TINY = {**char_lm.QUICK, "chars": 8, "train_chars": 3000, "valid_chars": 400, "test_chars": 400,
        "cells": ["lstm", "gru"], "m": 4, "h": 8, "batch": 4, "steps": 10, "epochs": 2,
        "group": 20, "kneser_ney_order": 3, "sample_chars": 30}


def test_char_lm_quick_smoke(run_experiment, tmp_path):
    rec = run_experiment("char-lm", TINY)
    m = rec["metrics"]
    assert m["vocab_size"] == 9 and m["test_chars"] == 399           # 8 characters + <unk>
    floor = m["entropy_rate_bpc"]
    for cell in ("lstm", "gru"):
        # no model beats the source's entropy rate by more than sampling noise, and a few
        # steps already beat the uniform 3 bits
        assert floor - 0.3 < m[f"test_bpc_{cell}"] < np.log2(9)
        assert m[f"chars_per_second_{cell}"] > 0
        assert set(rec["extra"]["samples"][cell]) == {"0.5", "1.0"}
        assert all(len(s) == 30 for s in rec["extra"]["samples"][cell].values())
        assert (tmp_path / f"checkpoints_{cell}").is_dir()
    assert m["test_bpc_kneser_ney3"] < m["test_bpc_unigram"]
    assert "temperature 0.5" in rec["notes"] and "floor" in rec["notes"]


def test_bits_per_char_counts_every_character():
    logp = np.log(np.array([0.5, 0.25, 0.125, 1.0]))
    assert char_lm.bits_per_char(logp) == pytest.approx((1 + 2 + 3 + 0) / 4)


def test_held_out_characters_unseen_in_training_are_unknown():
    vocab, streams = char_lm.encode(("\nabca", "\nabz", "\nq"))
    assert vocab.tokens[0] == "<unk>" and set(vocab.tokens) == {"<unk>", "\n", "a", "b", "c"}
    assert streams[1][-1] == vocab.unk_id and streams[2][-1] == vocab.unk_id


def test_the_time_budget_ends_training_after_the_epoch_that_spends_it(tmp_path):
    streams = [(np.arange(n) % 5).astype(np.int32) for n in (400, 120, 120)]
    cfg = {**TINY, "epochs": 4, "patience": 10}
    _, _, curves, _ = char_lm.train_one("lstm", 5, streams, {**cfg, "time_budget_s": 0},
                                        jax.random.key(0), tmp_path, lambda s: None)
    assert len(curves["valid"]) == 1
    _, _, curves, _ = char_lm.train_one("gru", 5, streams, {**cfg, "time_budget_s": None},
                                        jax.random.key(0), tmp_path, lambda s: None)
    assert len(curves["valid"]) == 4
    with pytest.raises(JaxnnError, match="time_budget_s"):
        char_lm.train_one("lstm", 5, streams, {**cfg, "time_budget_s": -1.0},
                          jax.random.key(0), tmp_path, lambda s: None)
