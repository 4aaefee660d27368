"""How long each experiment's full mode takes: measured wall times, and estimates scaled from them.

``jaxnn run all`` (full mode) prints this table and runs only with ``--yes``; a full run of one
experiment prints its line. The README quotes :func:`markdown`
(``python -m jaxnn_experiments._durations``). Imports neither JAX nor an experiment.

Measured rows are the ``seconds`` of a full run's ``results.json`` (seed 0): the recorded runs
of ``results/NAME``, or for those not recorded there a run of ``jaxnn run NAME`` (2026-12-01);
all on :data:`MACHINE`, which other jobs shared, so they are typical, not best, times.
Estimated rows say what they were scaled from. An accelerator is much faster for the large
models (char-lm, nplm-brown, the recurrent runs).
"""

from __future__ import annotations

import dataclasses

#: where every number below was measured
MACHINE = "2 shared CPU cores (the development machine: XLA's CPU backend, no accelerator)"


@dataclasses.dataclass(frozen=True)
class Duration:
    """One experiment's full-mode wall time.

    seconds:  wall time of ``jaxnn run NAME`` (full mode, seed 0), in seconds.
    measured: True for a recorded run, False for an estimate.
    basis:    the recorded run (its folder or command), or what the estimate was scaled from.
    """

    seconds: float
    measured: bool
    basis: str


def _m(seconds: float, basis: str) -> Duration:
    return Duration(seconds, True, basis)


def _e(seconds: float, basis: str) -> Duration:
    return Duration(seconds, False, basis)


#: full-mode wall time per registered experiment name
FULL: dict[str, Duration] = {
    "adding-problem": _e(4800, "time grows with T × steps: results/adding-problem-T500-T1000 took "
                               "1,889 s (LSTM and GRU at T = 500 and 1,000, 4,000 steps, one "
                               "thread), results/adding-problem-T500 1,289 s (three cells at "
                               "T = 500); FULL runs T = 50 ... 1,000, 4,000 steps each"),
    "bp-example": _m(11, "results/bp-example"),
    "chain-rule": _m(1, "jaxnn run chain-rule"),
    "char-lm": _e(90000, "operation count (2-layer LSTM and GRU, h = 512, ~4M training "
                         "characters per epoch, up to 20 epochs) at the rate sequence-mnist "
                         "reaches; meant for an accelerator"),
    "lenet5": _m(2128, "results/lenet5"),
    "mlp-mnist": _m(1236, "results/mlp-mnist"),
    "neuron": _m(14, "jaxnn run neuron"),
    "nplm-brown": _e(15100, "four models with a 3,600 s training budget each (MLP1, MLP9, "
                            "the sized NPLM, LSTM; results/nplm-brown-mlp9 took 4,245 s for MLP9 "
                            "with 3,900 s) plus the n-grams (results/nplm-brown-ngrams: 23 s)"),
    "optimizers": _e(600, "rough: eleven MLP fits on 10,000 MNIST images (per-sample SGD the "
                          "longest), scaled from mlp-mnist's time per epoch, plus a compilation "
                          "each"),
    "perceptron": _m(22, "jaxnn run perceptron"),
    "regression": _m(33, "results/regression"),
    "rnn-gradients": _m(885, "jaxnn run rnn-gradients"),
    "sequence-mnist": _m(1278, "results/sequence-mnist"),
    "sunspots": _m(149, "results/sunspots"),
    "svm": _m(24, "results/svm"),
    "text-classification": _m(896, "results/text-classification"),
    "vanishing-gradients": _e(300, "rough: 114 gradient measurements (19 depths × 3 activations "
                                   "× 2 initialisations), one compilation each"),
    "xor": _m(184, "jaxnn run xor"),
}


def human(seconds: float) -> str:
    """``8 s``, ``9 min``, ``1.3 h``: a wall time as people say it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def total(names) -> float:
    """The summed full-mode seconds of ``names`` (those without a row count 0)."""
    return sum(FULL[n].seconds for n in names if n in FULL)


def lines(names) -> list[str]:
    """The plain-text table ``jaxnn run all`` prints: one line per name, then the total.

    Args:
        names: experiment names (a name without a row says "no estimate").

    Returns:
        the lines (``  lenet5   9 min  measured``), without newlines.
    """
    names = list(names)
    width = max([len(n) for n in names] + [5])
    out = []
    for n in names:
        d = FULL.get(n)
        if d is None:
            out.append(f"  {n:{width}s}        ?  no estimate (not one of jaxnn's experiments)")
        else:
            out.append(f"  {n:{width}s} {human(d.seconds):>8s}  "
                       f"{'measured' if d.measured else 'estimate'}")
    unknown = [n for n in names if n not in FULL]
    out.append(f"  {'total':{width}s} {human(total(names)):>8s}"
               + (f"  (+ {len(unknown)} without an estimate)" if unknown else ""))
    return out


def markdown(names=None) -> str:
    """The table as Markdown (experiment, wall time, measured or estimated from what)."""
    names = list(FULL) if names is None else list(names)
    rows = [f"Full-mode wall times on {MACHINE}.", "",
            "| experiment | wall time | measured / estimated from |", "|---|---|---|"]
    for n in names:
        d = FULL[n]
        rows.append(f"| `{n}` | {human(d.seconds)} | "
                    f"{'measured' if d.measured else 'estimate'}: {d.basis} |")
    rows.append(f"| all | {human(total(names))} | |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())
