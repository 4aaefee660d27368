"""Bengio et al. 2003's neural probabilistic language model on the Brown corpus, beside n-grams.

Bengio, Ducharme, Vincent & Jauvin, "A Neural Probabilistic Language Model", JMLR 3 (2003),
Table 1 (Brown): deleted-interpolation trigram 336, Kneser–Ney 5-gram 321, class-based 312,
MLP1 (n = 5, h = 50, m = 60, direct connections) 268, MLP10 (MLP9 averaged 0.5/0.5 with the
trigram) 252. Here: our deleted-interpolation trigram and Kneser–Ney 3- and 5-gram
(:mod:`jaxnn.models.ngram`), the NPLM MLP1 and MLP9 (:mod:`jaxnn.models.nplm`; Qiu Xipeng,
《神经网络与深度学习》 (2015), the feedforward language model of the text-application slides),
MLP9 mixed with the trigram (0.5/0.5 as MLP10, and the weight fitted on validation by EM; MLP1
the same way, fitted, as the paper's MLP2), ``nplm``: the same network at a size of our choosing
with dropout (``nplm.nplm``: n, m, h, direct, dropout; mixed with the trigram as MLP1 is), and
the recurrent LSTM LM (:mod:`jaxnn.models.language`, when installed).

Data (FULL): Brown in NLTK's file order as one stream, 800,000 train / 200,000 valid / the rest
test tokens, case and punctuation kept; the vocabulary rule ``"paper"`` (whole-corpus frequency
≤ 3 → one symbol, the rule the paper's numbers follow) and/or ``"train"`` (frequency in the
training split; numbers not comparable with the paper's), metrics ``test_perplexity_<model>``
and ``test_perplexity_<model>_trainvocab``. Histories cross split boundaries (one stream); every
test token counts, unknown-word symbols included. QUICK: text sampled from a random Markov source
(:mod:`jaxnn.data.synthetic_text`) whose exact perplexity is the floor no model can beat.

NPLM training: jitted mini-batch steps on the engine (:func:`jaxnn.train.make_runner`), Adam
(or the paper's SGD with ε_t = ε₀/(1 + r t)) after weight decay on H, U, W
(``jaxnn.optim.l2(λ, nplm.penalty_mask)``); each model's shape and dropout (on x and on the
hidden layer; 0 for the paper's two) in ``nplm.<model>``; validation perplexity every
``eval_every`` steps, the step multiplied by ``plateau_factor`` after every evaluation that
fails to beat the best (:mod:`jaxnn.train.plateau`; 1 keeps the rate constant), early stopping
with ``patience``, the best parameters kept and checkpointed so that a killed run resumes
(:class:`jaxnn.train.Checkpointer`). The LSTM LM: Adam with its step scaled the same way after
every epoch whose validation perplexity is not below the best by more than the relative
``plateau_threshold`` (PyTorch's ``ReduceLROnPlateau`` threshold; 0: any improvement counts);
early stopping counts the epochs without any improvement; a checkpoint after every epoch
(``checkpoint``) lets it resume too; ``tie`` shares C with the softmax weights (U = C, Press
& Wolf 2017; needs m = h).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxnn.train.progress import tqdm

from ._base import Result, savefig
from jaxnn.data import text
from jaxnn.errors import JaxnnError
from jaxnn.metrics import nearest_neighbours, perplexity
from jaxnn.models import ngram, nplm, sampling
from jaxnn.optim import l2, sgd
from jaxnn.train import Checkpointer, make_runner, make_train_step, plateau
from jaxnn.train.progress import append_jsonl

TITLE = "Brown corpus: Bengio et al. 2003's neural language model (MLP1, MLP9, MLP10) vs n-grams"
HEADLINE = ("test_perplexity_kn5", "test_perplexity_mlp?", "test_perplexity_nplm",
            "test_perplexity_mlp10", "*_lstm")

# "nplm" last: a model's key is fold_in(seed key, its index here), so appending keeps the others'
MODELS = ("trigram", "kn3", "kn5", "mlp1", "mlp9", "mlp10", "lstm", "nplm")
NPLMS = ("mlp1", "mlp9", "nplm")


def _shape(c: nplm.NPLMConfig) -> dict:
    return {"n": c.n, "m": c.m, "h": c.h, "direct": c.direct, "dropout": c.dropout}


# mlp1 and mlp9 are the paper's (Table 1, no dropout); "nplm" is the same network at a size of
# our choosing, wider and with dropout on x and a, which the paper's models do not have
_SHAPES = {"mlp1": _shape(nplm.mlp1(2)), "mlp9": _shape(nplm.mlp9(2)),
           "nplm": {"n": 5, "m": 60, "h": 200, "direct": True, "dropout": 0.3}}
_TRAIN = {"batch_size": 256, "optimizer": "adam", "lr": 1e-3, "lr_decay": 1e-8,
          "weight_decay": 1e-4, **_SHAPES, "plateau_factor": 0.5, "eval_every": 500,
          "eval_tokens": 20000, "patience": 4, "max_epochs": 20, "time_budget_s": 3600.0,
          "checkpoint": True}
QUICK = {"data": "synthetic", "models": list(MODELS), "rules": ["paper"], "markers": False,
         "source": {"vocab_size": 200, "order": 1, "concentration": 0.2, "seed": 0,
                    "train": 60000, "valid": 10000, "test": 10000},
         "nplm": {**_TRAIN, "batch_size": 128, "lr": 3e-3, "eval_every": 150,
                  "eval_tokens": 10000, "patience": 3, "max_epochs": 6, "time_budget_s": 25.0,
                  "checkpoint": False},
         "lstm": {"m": 64, "h": 128, "tie": False, "dropout": 0.2, "batch_size": 32,
                  "steps": 35, "lr": 3e-3, "clip": 1.0, "plateau_factor": 0.5,
                  "plateau_threshold": 0.0, "patience": 2,
                  "max_epochs": 3, "time_budget_s": 25.0, "checkpoint": False},
         "samples": 3, "sample_length": 20, "temperatures": [0.7, 1.0],
         "neighbour_words": 6, "neighbours": 5, "projection_words": 150}
FULL = {**QUICK, "data": "brown", "nplm": dict(_TRAIN),
        "lstm": {"m": 200, "h": 200, "tie": True, "dropout": 0.5, "batch_size": 20,
                 "steps": 35, "lr": 2e-3, "clip": 5.0, "plateau_factor": 0.5,
                 "plateau_threshold": 0.01, "patience": 3,
                 "max_epochs": 20, "time_budget_s": 3600.0, "checkpoint": True}}
REFERENCE = {"test_perplexity_trigram": 336.0, "test_perplexity_kn5": 321.0,
             "test_perplexity_class_based": 312.0, "test_perplexity_mlp1": 268.0,
             "test_perplexity_mlp10": 252.0}
REFERENCE_SOURCE = ("Bengio, Ducharme, Vincent & Jauvin 2003, 'A Neural Probabilistic Language "
                    "Model', JMLR 3, Table 1 (Brown, test perplexity; paper vocabulary rule)")


# --------------------------------------------------------------------------- data


def load_data(config: dict, rule: str) -> dict:
    """One stream with its splits: ``{"stream", "train", "valid", "test", "V", "words", "pad",
    "info", ["source"]}`` (the source only for the synthetic data)."""
    if config["data"] == "synthetic":
        from jaxnn.data.synthetic_text import markov_source

        s = config["source"]
        src = markov_source(s["seed"], s["vocab_size"], s["order"], s["concentration"])
        n_tr, n_va, n_te = s["train"], s["valid"], s["test"]
        stream = src.sample(n_tr + n_va + n_te, s["seed"] + 1)
        test = slice(n_tr + n_va, n_tr + n_va + n_te)
        floor = perplexity(src.logprob(stream, start=test.start)[: n_te])
        info = {"data": "synthetic Markov source", "vocab_size": src.vocab_size,
                "order": src.order, "train_tokens": n_tr, "valid_tokens": n_va,
                "test_tokens": n_te, "true_perplexity_test_text": floor,
                "source_perplexity": src.perplexity(), "rule": "none (closed vocabulary)"}
        return {"stream": stream, "train": slice(0, n_tr), "valid": slice(n_tr, n_tr + n_va),
                "test": test, "V": src.vocab_size, "words": tuple(src.words), "pad": 0,
                "info": info, "source": src}
    from jaxnn.data.corpora import brown_lm

    b = brown_lm(config.get("directory"), rule=rule, markers=config["markers"])
    info = {"data": "Brown (NLTK file order, one stream)", "rule": rule,
            "markers": b.markers, **b.counts,
            "histories_cross_split_boundaries": True,
            "first_positions_padded_with": "<unk> id (the 4 first tokens of the corpus)"}
    return {"stream": b.stream, "train": b.train, "valid": b.valid, "test": b.test,
            "V": len(b.vocab), "words": tuple(b.vocab.tokens), "pad": b.vocab.unk_id,
            "info": info}


def _windows(d: dict, split: str, n: int, limit: int | None = None):
    s = d[split]
    stop = s.stop if limit is None else min(s.stop, s.start + limit)
    return text.windows(d["stream"], n, start=s.start, stop=stop, pad_id=d["pad"])


# --------------------------------------------------------------------------- n-grams


def ngram_logprobs(name: str, d: dict, cache: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """(test ln p, valid ln p or None) of ``trigram``, ``kn3`` or ``kn5``."""
    tr = d["stream"][d["train"]]
    if name == "trigram":
        model = ngram.interpolated_trigram(tr, d["stream"][d["valid"]], d["V"])
        valid = model.logprob(d["stream"], d["valid"].start, d["valid"].stop)
    else:
        model = ngram.kneser_ney(tr, d["V"], int(name[2:]))
        valid = None
    cache[name] = model
    return model.logprob(d["stream"], d["test"].start, d["test"].stop), valid


# --------------------------------------------------------------------------- NPLM training


def make_optimizer(cfg: nplm.NPLMConfig, t: dict) -> optax.GradientTransformation:
    """Weight decay λ on H, U, W, then Adam(lr) or the paper's SGD with lr/(1 + lr_decay·t),
    then the plateau scale (:mod:`jaxnn.train.plateau`, lowered when validation stalls)."""
    if t["optimizer"] == "adam":
        rule = optax.adam(t["lr"])
    elif t["optimizer"] == "sgd":
        rule = sgd(lambda step: t["lr"] / (1.0 + t["lr_decay"] * step))
    else:
        raise JaxnnError(f"nplm optimizer must be 'adam' or 'sgd'; got {t['optimizer']!r}")
    return optax.chain(l2(t["weight_decay"], nplm.penalty_mask(cfg)), rule,
                       plateau.scale_by_plateau())


def train_nplm(name: str, d: dict, t: dict, key, ckpt_dir: Path | None) -> dict:
    """Train one of :data:`NPLMS` (its shape and dropout: ``t[name]``) with early stopping;
    returns ``{"params", "config", "curve", ...}``."""
    cfg = nplm.NPLMConfig(d["V"], **t[name])
    ctx, tgt = _windows(d, "train", cfg.n)
    vctx, vtgt = _windows(d, "valid", cfg.n, t["eval_tokens"])
    N, B, K = len(tgt), int(t["batch_size"]), int(t["eval_every"])
    opt = make_optimizer(cfg, t)
    factor = plateau.check_factor(t["plateau_factor"], "plateau_factor")
    step = make_train_step(lambda p, b, k: nplm.loss(p, b, config=cfg, key=k), opt, jit=False)
    run = make_runner(step, lambda data, i, _: (data[0][data[2][i]], data[1][data[2][i]]), K)
    k_init, k_perm = jax.random.split(key)
    k_drop = jax.random.fold_in(key, 1)
    params = nplm.init(k_init, cfg)
    opt_state = opt.init(params)
    state = {"params": params, "opt_state": opt_state, "best_params": params}
    meta = {"evals": 0, "best": float("inf"), "bad": 0, "curve": [], "train_s": 0.0}
    ckpt = Checkpointer(ckpt_dir) if ckpt_dir is not None else None
    if ckpt is not None and ckpt.latest_epoch() is not None:
        state, meta = ckpt.restore(state)
        print(f"[{name}] resumed from {ckpt_dir} after {meta['evals']} evaluations")
    data = (jnp.asarray(ctx), jnp.asarray(tgt))
    steps_per_epoch = max(N // B, 1)
    total_chunks = max(1, int(t["max_epochs"]) * steps_per_epoch // K)
    bar = tqdm(total=total_chunks * K * B, initial=meta["evals"] * K * B, unit="tok",
               unit_scale=True, desc=f"{name} |V|={d['V']}", mininterval=2.0)
    rng = np.random.default_rng(int(jax.random.randint(k_perm, (), 0, 2**31 - 1)))
    perm = np.zeros(0, np.int64)
    def next_chunk(perm):
        while perm.size < K * B:
            perm = np.concatenate([perm, rng.permutation(N)])
        return perm[:K * B], perm[K * B:]

    for _ in range(meta["evals"]):  # replay the permutation stream of a resumed run
        perm = next_chunk(perm)[1]
    p, s = state["params"], state["opt_state"]
    while meta["evals"] < total_chunks and meta["bad"] < t["patience"] \
            and meta["train_s"] < t["time_budget_s"]:
        chunk, perm = next_chunk(perm)
        idx = jnp.asarray(chunk.reshape(K, B), jnp.int32)
        t0 = time.perf_counter()
        # dropout's key for this chunk: a function of the chunk's number, so a resumed run
        # draws the masks it would have drawn (None, and the same run as before, without dropout)
        k_run = jax.random.fold_in(k_drop, meta["evals"]) if cfg.dropout > 0 else None
        out = run(p, s, data + (idx,), k_run)
        p, s = out.params, out.opt_state
        train_loss = float(jnp.mean(out.losses))
        meta["train_s"] += time.perf_counter() - t0
        meta["evals"] += 1
        vppl = perplexity(nplm.evaluate_logprob(p, vctx, vtgt, config=cfg))
        tokens = meta["evals"] * K * B
        meta["curve"].append({"tokens": tokens, "valid_perplexity": vppl,
                              "train_perplexity": float(np.exp(train_loss)),
                              "train_s": meta["train_s"], "lr_scale": plateau.scale(s)})
        s = plateau.after_evaluation(s, vppl, meta["best"], factor)
        if vppl < meta["best"]:
            meta["best"], meta["bad"], state["best_params"] = vppl, 0, p
        else:
            meta["bad"] += 1
        bar.set_postfix(valid_ppl=f"{vppl:.1f}", best=f"{meta['best']:.1f}",
                        tok_per_s=f"{tokens / meta['train_s']:.0f}", refresh=False)
        bar.update(K * B)
        if ckpt_dir is not None:
            append_jsonl(ckpt_dir.parent / f"{ckpt_dir.name}.jsonl", meta["curve"][-1])
        if ckpt is not None:
            ckpt.save(meta["evals"], {"params": p, "opt_state": s,
                                      "best_params": state["best_params"]}, meta)
        if not np.isfinite(train_loss):
            break
    bar.close()
    if ckpt is not None:
        ckpt.close()
    stop = ("patience" if meta["bad"] >= t["patience"] else "time budget"
            if meta["train_s"] >= t["time_budget_s"] else "max_epochs")
    return {"params": state["best_params"], "config": cfg, "curve": meta["curve"],
            "train_s": meta["train_s"], "stopped_by": stop,
            "epochs": meta["evals"] * K * B / N,
            "tokens_per_s": meta["evals"] * K * B / max(meta["train_s"], 1e-9)}


def nplm_logprobs(r: dict, d: dict, split: str) -> np.ndarray:
    c, t = _windows(d, split, r["config"].n)
    return nplm.evaluate_logprob(r["params"], c, t, config=r["config"])


def fit_mixture(lp_a: np.ndarray, lp_b: np.ndarray, iters: int = 200) -> float:
    """The weight α of p = α p_a + (1 − α) p_b maximising the likelihood (EM)."""
    alpha = 0.5
    for _ in range(iters):
        a = np.log(alpha) + lp_a
        r = np.exp(a - np.logaddexp(a, np.log1p(-alpha) + lp_b))
        alpha = float(np.clip(r.mean(), 1e-6, 1 - 1e-6))
    return alpha


def mix(lp_a: np.ndarray, lp_b: np.ndarray, alpha: float) -> np.ndarray:
    return np.logaddexp(np.log(alpha) + lp_a, np.log1p(-alpha) + lp_b)


# --------------------------------------------------------------------------- recurrent LM


def lstm_logprobs(d: dict, t: dict, key, ckpt_dir: Path | None = None) -> dict:
    """Train the LSTM LM (:mod:`jaxnn.models.language`) by truncated BPTT over the training
    stream, one jitted scan per epoch, early stopping on validation perplexity (best kept).

    With ``ckpt_dir`` every epoch ends with a checkpoint (params, optimizer state, the best
    params so far and the curve), and a run that finds one resumes after that epoch: epoch e's
    dropout key is ``fold_in(key, e)``, so the resumed run is the uninterrupted one."""
    from jaxnn.models import language as lm

    cfg = lm.LMConfig(d["V"], t["m"], t["h"], cell="lstm", dropout=t["dropout"], tie=t["tie"])
    opt = optax.chain(optax.clip_by_global_norm(t["clip"]), optax.adam(t["lr"]),
                      plateau.scale_by_plateau())
    factor = plateau.check_factor(t["plateau_factor"], "plateau_factor")
    threshold = plateau.check_threshold(t["plateau_threshold"], "plateau_threshold")
    xs, ys = text.stream_batches(d["stream"][d["train"]], t["batch_size"], t["steps"])
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    run = lm.make_stream_trainer(cfg, opt)
    k_init, key = jax.random.split(key)
    p = lm.init(k_init, cfg)
    s = opt.init(p)
    score = lambda p, split: lm.logprob(p, d["stream"], max(d[split].start, 1),  # noqa: E731
                                        d[split].stop, config=cfg, rows=t.get("rows", 8),
                                        context=t.get("context", 200))
    best, best_p, bad, train_s, curve = float("inf"), p, 0, 0.0, []
    ckpt = Checkpointer(ckpt_dir) if ckpt_dir is not None else None
    if ckpt is not None and ckpt.latest_epoch() is not None:
        state, meta = ckpt.restore({"params": p, "opt_state": s, "best_params": p})
        p, s, best_p = state["params"], state["opt_state"], state["best_params"]
        best, bad, train_s, curve = meta["best"], meta["bad"], meta["train_s"], meta["curve"]
        print(f"[lstm] resumed from {ckpt_dir} after {len(curve)} epochs")
    done = bool(curve) and (bad >= t["patience"] or train_s > t["time_budget_s"])
    bar = tqdm(range(len(curve), int(t["max_epochs"]) if not done else len(curve)),
               desc=f"lstm |V|={d['V']}", unit="epoch", initial=len(curve),
               total=int(t["max_epochs"]))
    for epoch in bar:
        t0 = time.perf_counter()
        p, s, _, losses = run(p, s, lm.initial_state(cfg, t["batch_size"]), xs, ys,
                              jax.random.fold_in(key, epoch))
        jax.block_until_ready(losses)
        train_s += time.perf_counter() - t0
        vppl = perplexity(score(p, "valid"))
        curve.append({"tokens": (epoch + 1) * int(xs.size), "valid_perplexity": vppl,
                      "train_perplexity": float(np.exp(np.mean(np.asarray(losses)))),
                      "train_s": train_s, "lr_scale": plateau.scale(s)})
        s = plateau.after_evaluation(s, vppl, best, factor, threshold)
        best, best_p, bad = (vppl, p, 0) if vppl < best else (best, best_p, bad + 1)
        bar.set_postfix(valid_ppl=f"{vppl:.1f}", tok_per_s=f"{curve[-1]['tokens'] / train_s:.0f}")
        if ckpt is not None:
            ckpt.save(epoch + 1, {"params": p, "opt_state": s, "best_params": best_p},
                      {"best": best, "bad": bad, "train_s": train_s, "curve": curve})
        if bad >= t["patience"] or train_s > t["time_budget_s"]:
            break
    bar.close()
    if ckpt is not None:
        ckpt.close()
    test = score(best_p, "test")
    if d["test"].start == 0:  # position 0 has no history: score it uniformly
        test = np.concatenate([[-np.log(d["V"])], test])
    return {"test": test, "curve": curve, "train_s": train_s, "epochs": len(curve),
            "tokens_per_s": curve[-1]["tokens"] / max(train_s, 1e-9)}


# --------------------------------------------------------------------------- word vectors


def inspect_vectors(r: dict, d: dict, config: dict, key, out: Path, tag: str) -> tuple[dict, str]:
    """Samples at each temperature, nearest neighbours of frequent words, a PCA plot of C."""
    words, cfg, C = d["words"], r["config"], np.asarray(r["params"]["C"], np.float64)
    freq = np.bincount(d["stream"][d["train"]], minlength=d["V"])
    if config["data"] == "brown":
        freq[d["pad"]] = -1  # the unknown-word symbol is not a word
    top = np.argsort(-freq, kind="stable")
    step = sampling.nplm_step_fn(r["params"], cfg)
    samples = {}
    prompt = d["stream"][d["test"].start - cfg.n:d["test"].start]
    for T in config["temperatures"]:
        st, first = sampling.nplm_initial_state(prompt, cfg)
        samples[str(T)] = [" ".join(words[i] for i in np.asarray(sampling.sample(
            k, step, st, first, config["sample_length"], temperature=T)))
            for k in jax.random.split(jax.random.fold_in(key, int(T * 1000)), config["samples"])]
    query = top[:config["neighbour_words"]]
    nb, sim = nearest_neighbours(C, query, config["neighbours"])
    neighbours = {words[q]: [[words[j], round(float(c), 3)] for j, c in zip(row, srow)]
                  for q, row, srow in zip(query, nb, sim)}
    shown = top[:min(config["projection_words"], d["V"])]
    X = C[shown] - C[shown].mean(0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    Z = X @ Vt[:2].T
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 9))
    ax.scatter(Z[:, 0], Z[:, 1], s=6, alpha=0.5)
    for (x, y), i in zip(Z, shown):
        ax.annotate(words[i], (x, y), fontsize=7)
    ax.set_title(f"{tag}: C of the {len(shown)} most frequent training words, first two "
                 f"principal components")
    ax.set(xlabel="principal component 1", ylabel="principal component 2")
    return {"samples": samples, "neighbours": neighbours}, savefig(fig, out, f"C_pca_{tag}.png")


def plot_curves(curves: dict, floor: float | None, out: Path, rule: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot([c["tokens"] for c in curve], [c["valid_perplexity"] for c in curve],
                marker=".", label=name)
    if floor is not None:
        ax.axhline(floor, color="k", ls="--", lw=1, label="source (floor)")
    ax.set_xlabel("training tokens seen")
    ax.set_ylabel("validation perplexity")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"validation perplexity while training ({rule} vocabulary)")
    return savefig(fig, out, f"learning_curves_{rule}.png")


# --------------------------------------------------------------------------- run


def run(config: dict, out: Path, seed: int) -> Result:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models = list(config["models"])
    bad = sorted(set(models) - set(MODELS))
    if bad:
        raise JaxnnError(f"unknown models {bad}; choose from {list(MODELS)}")
    rules = list(config["rules"]) if config["data"] == "brown" else ["paper"]
    need = set(models) | ({"mlp9", "trigram"} if "mlp10" in models else set())
    key = jax.random.key(seed)
    metrics, plots, extra, notes = {}, [], {}, []
    for rule in rules:
        suffix = "" if rule == "paper" else "_trainvocab"
        d = load_data(config, rule)
        extra[f"data_{rule}"] = d["info"]
        floor = d["info"].get("true_perplexity_test_text")
        if floor is not None:
            metrics["true_perplexity"] = floor
        lp, vlp, cache, curves = {}, {}, {}, {}
        for name in [m for m in MODELS if m in need]:
            k = jax.random.fold_in(key, MODELS.index(name))
            t0 = time.perf_counter()
            if name in ("trigram", "kn3", "kn5"):
                lp[name], vlp[name] = ngram_logprobs(name, d, cache)
            elif name in NPLMS:
                ck = out / "checkpoints" / f"{name}_{rule}" if config["nplm"]["checkpoint"] \
                    else None
                r = train_nplm(name, d, config["nplm"], k, ck)
                lp[name] = nplm_logprobs(r, d, "test")
                curves[name] = extra[f"{name}_{rule}_curve"] = r["curve"]
                extra[f"{name}_{rule}_training"] = {
                    key_: r[key_] for key_ in ("train_s", "stopped_by", "epochs",
                                               "tokens_per_s")}
                if (name == "mlp9" and "mlp10" in models) or (name != "mlp9" and
                                                              "trigram" in models):
                    vlp[name] = nplm_logprobs(r, d, "valid")
                if name != "mlp9" and "trigram" in models:  # MLP1's is the paper's MLP2 row
                    alpha = fit_mixture(vlp[name], vlp["trigram"])
                    lp[f"{name}_trigram_fitted"] = mix(lp[name], lp["trigram"], alpha)
                    extra[f"mixture_weight_{name}_{rule}"] = alpha
                info, plot = inspect_vectors(r, d, config, k, out, f"{name}_{rule}")
                extra[f"{name}_{rule}_words"] = info
                plots.append(plot)
            elif name == "mlp10":
                lp["mlp10"] = mix(lp["mlp9"], lp["trigram"], 0.5)
                alpha = fit_mixture(vlp["mlp9"], vlp["trigram"])
                lp["mlp9_trigram_fitted"] = mix(lp["mlp9"], lp["trigram"], alpha)
                extra[f"mixture_weight_{rule}"] = alpha
            elif name == "lstm":
                try:
                    import jaxnn.models.language  # noqa: F401
                except ImportError:
                    notes.append("- LSTM LM skipped: `jaxnn.models.language` is not installed.")
                    continue
                ck = out / "checkpoints" / f"lstm_{rule}" if config["lstm"]["checkpoint"] \
                    else None
                res = lstm_logprobs(d, config["lstm"], k, ck)
                lp["lstm"], curves["lstm"] = res["test"], res["curve"]
                extra[f"lstm_{rule}_curve"] = res["curve"]
                extra[f"lstm_{rule}_training"] = {k_: res[k_] for k_ in
                                                  ("train_s", "epochs", "tokens_per_s")}
            extra[f"{name}_{rule}_seconds"] = round(time.perf_counter() - t0, 1)
        for name, v in lp.items():
            if name in models or name.endswith("_trigram_fitted"):
                metrics[f"test_perplexity_{name}{suffix}"] = perplexity(v)
        if curves:
            plots.append(plot_curves(curves, floor, out, rule))
        print(f"[{rule}] " + ", ".join(f"{n} {perplexity(v):.2f}" for n, v in lp.items())
              + (f"; source floor {floor:.2f}" if floor is not None else ""), flush=True)
    brown = config["data"] == "brown"
    notes.insert(0, "Brown, one stream (histories cross split boundaries), markers "
                 f"{'on' if config['markers'] else 'off'}; rules {rules}." if brown else
                 "Synthetic Markov source: `true_perplexity` is the source's own perplexity on "
                 "the test text, the floor no model can beat.")
    return Result(metrics=metrics, reference=REFERENCE if brown else {},
                  reference_source=REFERENCE_SOURCE if brown else "", plots=plots,
                  notes="\n".join(notes), extra=extra)
