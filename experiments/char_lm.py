"""Character-level LSTM and GRU language models: bits per character on held-out text, samples.

The model is :mod:`jaxnn.models.language` (characters looked up in C, a recurrent core from
:mod:`jaxnn.nn.cells`, a softmax over the characters; Qiu Xipeng, 《神经网络与深度学习》 (2015),
eq 187–196; Zaremba, Sutskever & Vinyals 2014 for dropout and truncated BPTT over one
continuous stream), trained with Adam and gradient clipping, the step multiplied by
``plateau_factor`` after every epoch whose validation bits per character are not the best
(:mod:`jaxnn.train.plateau`), early stopping on them, a checkpoint of the best parameters
after every epoch; ``time_budget_s`` (None: none) ends training after the first epoch that
takes the training time past it, so that the day-long FULL size can be run in a bounded time.

Data. FULL: BBC News (Greene & Cunningham 2006, ``jaxnn fetch bbc-news``), split by article
with the fixed, seeded split of :func:`jaxnn.data.corpora.fixed_split` (80/10/10); each split
is one stream, its articles joined by a blank line and preceded by a newline, the character
vocabulary built on the training articles (a character seen only in held-out text is
``<unk>``, counted and scored like every other). QUICK: text of a random order-2 Markov
source over 20 characters (:func:`jaxnn.data.synthetic_text.markov_source`, its words read
as characters), whose entropy rate — the floor no model can beat — is known exactly.

Bits per character count every character of the held-out stream but its first (a newline):
``bpc = −Σ_t log₂ p(c_t | c_<t) / (N − 1)``. References: a character 5-gram with interpolated
modified Kneser–Ney (:mod:`jaxnn.models.kneser_ney`) fitted on the same training stream, and
the unigram entropy of the training characters.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import jax
import numpy as np
import optax
from jaxnn.train.progress import tqdm

from ._base import Result, savefig
from jaxnn.data import text as T
from jaxnn.errors import JaxnnError, check_choice
from jaxnn.models import language as lm
from jaxnn.models import sampling
from jaxnn.train import plateau

TITLE = "Character-level LSTM and GRU language models on BBC News: bits per character, samples"
HEADLINE = ("test_bpc_lstm", "test_bpc_gru", "test_bpc_kneser_ney*")

QUICK = {"corpus": "markov", "chars": 20, "order": 2, "train_chars": 60_000,
         "valid_chars": 8_000, "test_chars": 8_000, "cells": ["lstm", "gru"], "m": 16,
         "h": 64, "layers": 1, "dropout": 0.0, "batch": 16, "steps": 25, "lr": 1e-2,
         "clip": 5.0, "plateau_factor": 0.5, "epochs": 5, "patience": 2, "group": 50,
         "eval_rows": 1, "eval_context": None, "kneser_ney_order": 5, "sample_chars": 200,
         "temperatures": [0.5, 1.0], "time_budget_s": None}
FULL = {"corpus": "bbc", "cells": ["lstm", "gru"], "m": 64, "h": 512, "layers": 2,
        "dropout": 0.2, "batch": 64, "steps": 100, "lr": 2e-3, "clip": 5.0,
        "plateau_factor": 0.5, "epochs": 20, "patience": 2, "group": 50, "eval_rows": 64,
        "eval_context": 500,
        "kneser_ney_order": 5, "sample_chars": 600, "temperatures": [0.5, 1.0], "time_budget_s": None}

LN2 = math.log(2.0)


def markov_corpus(config: dict, seed: int):
    """The quick corpus: (train, valid, test) strings and the source's entropy rate in bits."""
    from jaxnn.data.synthetic_text import markov_source

    V = int(config["chars"])
    alphabet = " etaoinshrdlucmfwypvbgkjqxz"[:V]
    if V > len(alphabet):
        raise JaxnnError(f"chars must be at most {len(alphabet)}; got {V}")
    src = markov_source(seed, V, int(config["order"]), sentence_length=6.0)

    def draw(n, s):
        return "".join(alphabet[i] for i in src.sample(int(n), s))

    texts = (draw(config["train_chars"], 1), draw(config["valid_chars"], 2),
             draw(config["test_chars"], 3))
    return texts, src.entropy_rate() / LN2


def bbc_corpus():
    """BBC News split by article (the fixed split): (train, valid, test) strings, counts."""
    from jaxnn.data import corpora

    ds = corpora.bbc_news()
    split = ds.split()
    texts = tuple("\n" + "\n\n".join(ds.texts[i] for i in idx)
                  for idx in (split.train, split.valid, split.test))
    info = {"articles": [len(split.train), len(split.valid), len(split.test)],
            "split_checksum": split.checksum}
    return texts, info


def encode(texts):
    """The character vocabulary of the training text and the three id streams."""
    vocab = T.Vocabulary.build(T.characters(texts[0]), pad=None, unk="<unk>")
    return vocab, [vocab.encode(T.characters(t)) for t in texts]


def bits_per_char(logp: np.ndarray) -> float:
    return float(-np.mean(logp) / LN2)


def train_one(cell: str, vocab_size: int, streams, config: dict, key, out: Path, log):
    """Train one cell with early stopping; return (best params, cfg, curves, chars/s).

    chars/s is the median over the jitted calls (each ``group`` chunks), so compilation
    does not count."""
    from jaxnn.train import Checkpointer

    cfg = lm.LMConfig(vocab_size, config["m"], config["h"], layers=config["layers"], cell=cell,
                      dropout=config["dropout"])
    k_init, k_train = jax.random.split(key)
    params = lm.init(k_init, cfg)
    factor = plateau.check_factor(config["plateau_factor"], "plateau_factor")
    opt = optax.chain(optax.clip_by_global_norm(float(config["clip"])), optax.adam(config["lr"]),
                      plateau.scale_by_plateau())
    opt_state = opt.init(params)
    run = lm.make_stream_trainer(cfg, opt)
    B, S, G = config["batch"], config["steps"], config["group"]
    x, y = T.stream_batches(streams[0], B, S)
    K = x.shape[0]
    ckpt = Checkpointer(out / f"checkpoints_{cell}", max_to_keep=1)
    best, best_params, bad, curves = math.inf, params, 0, {"train": [], "valid": []}
    seen, rates, train_s = 0, [], 0.0
    budget = config.get("time_budget_s")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                               or not budget >= 0):
        raise JaxnnError(f"time_budget_s must be None or a number of seconds >= 0; got "
                         f"{budget!r}")
    for epoch in range(1, config["epochs"] + 1):
        state = lm.initial_state(cfg, B)
        bar = tqdm(range(0, K, G), desc=f"{cell} epoch {epoch}", leave=False, mininterval=2.0)
        for lo in bar:
            t0 = time.perf_counter()
            params, opt_state, state, ls = run(params, opt_state, state, x[lo:lo + G],
                                               y[lo:lo + G], jax.random.fold_in(k_train,
                                                                                epoch * K + lo))
            ls = np.asarray(ls)
            dt = time.perf_counter() - t0
            train_s += dt
            rates.append(ls.size * B * S / dt)
            seen += ls.size * B * S
            curves["train"].append((seen, float(ls.mean() / LN2)))
            bar.set_postfix(bpc=f"{ls.mean() / LN2:.3f}", chars_s=f"{ls.size * B * S / dt:,.0f}")
            if not np.isfinite(ls).all():
                raise JaxnnError(f"{cell}: the training loss became {ls[-1]} in epoch {epoch}")
        v = bits_per_char(evaluate(params, cfg, streams[1], config))
        opt_state = plateau.after_evaluation(opt_state, v, best, factor)
        curves["valid"].append((seen, v))
        log(f"{cell} epoch {epoch}: train bpc {curves['train'][-1][1]:.3f}, valid bpc {v:.3f}, "
            f"{np.median(rates):,.0f} chars/s (median over chunk groups)")
        if v < best:
            best, best_params, bad = v, params, 0
            ckpt.save(epoch, {"params": params}, {"valid_bpc": v, "cell": cell})
        else:
            bad += 1
            if bad >= config["patience"]:
                break
        if budget is not None and train_s > budget:
            log(f"{cell}: time budget of {budget:g} s spent after epoch {epoch}")
            break
    ckpt.close()
    return best_params, cfg, curves, float(np.median(rates))


def evaluate(params, cfg, stream, config) -> np.ndarray:
    """ln p of every character of a held-out stream after its first."""
    rows = int(config.get("eval_rows", 1) or 1)
    return lm.logprob(params, stream, 1, config=cfg, rows=rows, chunk=200,
                      context=config.get("eval_context"))


def samples(params, cfg, vocab, config, key) -> dict:
    """Text drawn at each temperature, after a newline (or the first character)."""
    step = lm.make_step_fn(params, config=cfg)
    first = vocab.index("\n") if "\n" in vocab.tokens else 0
    out = {}
    for i, t in enumerate(config["temperatures"]):
        ids = sampling.sample(jax.random.fold_in(key, i), step, lm.initial_state(cfg, 1), first,
                              config["sample_chars"], temperature=float(t))
        out[str(t)] = "".join(vocab.decode(np.asarray(ids)))
    return out


def run(config: dict, out: Path, seed: int) -> Result:
    """Train each cell; held-out bits per character beside the references; samples; plot."""
    check_choice(config["corpus"], ("markov", "bbc"), "corpus")
    out = Path(out)
    floor = None
    if config["corpus"] == "markov":
        texts, floor = markov_corpus(config, seed)
        info = {}
    else:
        texts, info = bbc_corpus()
    vocab, streams = encode(texts)
    V = len(vocab)
    metrics: dict[str, float] = {"vocab_size": V, "train_chars": streams[0].size,
                                 "valid_chars": streams[1].size - 1,
                                 "test_chars": streams[2].size - 1}
    metrics["test_unk_chars"] = int(np.sum(streams[2][1:] == vocab.unk_id))
    counts = np.bincount(streams[0], minlength=V).astype(np.float64)
    p = counts / counts.sum()
    with np.errstate(divide="ignore"):
        logp_uni = np.log(np.where(p[streams[2][1:]] > 0, p[streams[2][1:]], 1.0 / V))
    metrics["unigram_entropy_bpc"] = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    metrics["test_bpc_unigram"] = bits_per_char(logp_uni)
    order = int(config.get("kneser_ney_order") or 0)
    if order:
        from jaxnn.models.ngram import kneser_ney

        kn = kneser_ney(streams[0], V, order)
        metrics[f"test_bpc_kneser_ney{order}"] = bits_per_char(kn.logprob(streams[2], 1))
    if floor is not None:
        metrics["entropy_rate_bpc"] = floor
    key = jax.random.key(seed)
    curves, texts_out = {}, {}
    for i, cell in enumerate(config["cells"]):
        params, cfg, curves[cell], speed = train_one(cell, V, streams, config,
                                                     jax.random.fold_in(key, i), out, print)
        metrics[f"valid_bpc_{cell}"] = min(v for _, v in curves[cell]["valid"])
        metrics[f"test_bpc_{cell}"] = bits_per_char(evaluate(params, cfg, streams[2], config))
        metrics[f"chars_per_second_{cell}"] = speed
        texts_out[cell] = samples(params, cfg, vocab, config, jax.random.fold_in(key, 100 + i))
    plot = _plot(curves, metrics, floor, order, out)
    notes = _notes(config, metrics, floor, order, texts_out)
    reference = {}
    if floor is not None:
        reference["entropy_rate_bpc"] = floor
    return Result(metrics=metrics, reference=reference,
                  reference_source=("entropy rate of the generating Markov source (exact)"
                                    if floor is not None else
                                    "references computed in this run on the same split: "
                                    + (f"character {order}-gram Kneser–Ney, " if order else "")
                                    + "the unigram entropy of the training characters"),
                  plots=[plot], notes=notes,
                  extra={"curves": curves, "samples": texts_out, "data": info})


def _notes(config, metrics, floor, order, texts_out) -> str:
    rows = [f"- {c}: test {metrics[f'test_bpc_{c}']:.3f} bits/char (valid "
            f"{metrics[f'valid_bpc_{c}']:.3f}), {metrics[f'chars_per_second_{c}']:,.0f} "
            "training chars/s" for c in config["cells"]]
    ref = [f"unigram {metrics['test_bpc_unigram']:.3f}"]
    if order:
        ref.append(f"{order}-gram Kneser–Ney {metrics[f'test_bpc_kneser_ney{order}']:.3f}")
    if floor is not None:
        ref.append(f"the source's entropy rate (floor) {floor:.3f}")
    lines = [f"Held-out bits per character ({int(metrics['test_chars']):,} characters, every "
             f"one counted, {int(metrics['test_unk_chars'])} unknown), |V| = "
             f"{int(metrics['vocab_size'])}:", *rows, "- references: " + ", ".join(ref), ""]
    for cell, d in texts_out.items():
        for t, s in d.items():
            lines.append(f"Sample, {cell}, temperature {t}:\n\n    " +
                         s.replace("\n", "\n    ") + "\n")
    return "\n".join(lines)


def _plot(curves, metrics, floor, order, out) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for cell, c in curves.items():
        n, b = zip(*c["train"])
        line, = ax.plot(n, b, lw=1, alpha=0.7, label=f"{cell} train (chunk groups)")
        n, b = zip(*c["valid"])
        ax.plot(n, b, "o-", color=line.get_color(), label=f"{cell} valid")
    if order:
        ax.axhline(metrics[f"test_bpc_kneser_ney{order}"], color="gray", ls="--", lw=1,
                   label=f"{order}-gram KN (test)")
    if floor is not None:
        ax.axhline(floor, color="k", ls=":", lw=1, label="entropy rate (floor)")
    ax.set_xlabel("training characters seen")
    ax.set_ylabel("bits per character")
    ax.set_title("character language models: bits per character while training")
    ax.legend(fontsize=8)
    return savefig(fig, out, "char_lm_curves.png")
