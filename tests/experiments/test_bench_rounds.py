"""Interleaved rounds, per-round ratios, their spread and the disagreement flag, on fake clocks
(no real timing: every duration below is scripted)."""

import pytest

import jaxnn_experiments.bench as bench
from jaxnn_experiments.bench import _timing


class FakeClock:
    """A clock that a call of ``fn(name)`` advances by the scripted duration of that call.

    ``durations[name]`` is a list of per-round durations in seconds; ``per_round`` calls of a
    function in round k each take ``durations[name][k]``.
    """

    def __init__(self, durations, per_round, warmup):
        self.now, self.calls = 0.0, []
        self.durations, self.per_round, self.warmup = durations, per_round, warmup

    def timer(self):
        return self.now

    def fn(self, name):
        def call():
            n = sum(c == name for c in self.calls) - self.warmup
            self.calls.append(name)
            if n >= 0:
                self.now += self.durations[name][n // self.per_round]
        return call


def _run(durations, per_round=3, warmup=1, setup=None):
    clock = FakeClock(durations, per_round, warmup)
    fns = {k: clock.fn(k) for k in durations}
    rounds = len(next(iter(durations.values())))
    got = _timing.interleaved_rounds(fns, warmup=warmup, rounds=rounds, per_round=per_round,
                                     setup=setup, timer=clock.timer)
    return got, clock


def test_rounds_interleave_and_report_each_rounds_median():
    durations = {"a": [0.010, 0.020], "b": [0.030, 0.060]}
    clock = FakeClock(durations, 2, 1)
    log = []                                     # how many calls preceded each setup of b
    setup = {"b": lambda: log.append(len(clock.calls))}
    got = _timing.interleaved_rounds({k: clock.fn(k) for k in durations}, warmup=1, rounds=2,
                                     per_round=2, setup=setup, timer=clock.timer)
    # warm-up a, b; then round 1: a a b b; round 2: a a b b
    assert clock.calls == ["a", "b", "a", "a", "b", "b", "a", "a", "b", "b"]
    assert got == {"a": pytest.approx([10.0, 20.0]), "b": pytest.approx([30.0, 60.0])}
    # b's setup ran before its warm-up and before its block in each round, never inside one
    assert log == [1, 4, 8]


def test_load_drift_that_hits_both_alike_is_not_flagged():
    # the machine gets three times slower over the rounds, for both implementations alike
    load = [1.0, 2.0, 3.0, 1.5, 2.5]
    got, _ = _run({"jaxnn": [0.010 * k for k in load], "torch": [0.015 * k for k in load]})
    st = _timing.round_stats(got)
    assert st["jaxnn"]["ms_lo"] == pytest.approx(10.0)
    assert st["jaxnn"]["ms_hi"] == pytest.approx(30.0)
    assert st["torch"]["ratio"] == pytest.approx(1.5)
    assert st["torch"]["ratio_lo"] == pytest.approx(1.5) == st["torch"]["ratio_hi"]
    assert st["torch"]["flag"] == ""
    assert "ratio" not in st["jaxnn"]


def test_rounds_that_disagree_are_flagged_with_their_range():
    # torch collapses in two of five rounds (its thread pool spin-waits), jaxnn does not
    got, _ = _run({"jaxnn": [0.010] * 5, "torch": [0.008, 0.050, 0.009, 0.100, 0.008]})
    st = _timing.round_stats(got)["torch"]
    assert st["ratio"] == pytest.approx(0.9)                   # median of 0.8 5 0.9 10 0.8
    assert (st["ratio_lo"], st["ratio_hi"]) == (pytest.approx(0.8), pytest.approx(10.0))
    assert st["flag"].startswith("rounds disagree: 0.80–10.00×")
    # just under and just over the limit
    ok = _timing.round_stats({"jaxnn": [1.0, 1.0], "p": [1.0, 1.2]}, spread_limit=0.25)["p"]
    bad = _timing.round_stats({"jaxnn": [1.0, 1.0], "p": [1.0, 1.4]}, spread_limit=0.25)["p"]
    assert ok["flag"] == "" and bad["flag"] != ""


def test_round_counts_must_match():
    with pytest.raises(ValueError, match="rounds"):
        _timing.round_stats({"jaxnn": [1.0, 2.0], "p": [1.0]})


def test_torch_thread_variants_set_threads_before_their_calls():
    class FakeTorch:
        threads, seen = None, []

        def set_num_threads(self, n):
            self.threads = n

    torch = FakeTorch()
    fns, setup = _timing.torch_threads(torch, lambda: torch.seen.append(torch.threads))
    assert list(fns) == ["torch[1t]", "torch[2t]"]
    clock = FakeClock({"x": [0.0]}, 1, 0)
    _timing.interleaved_rounds(fns, warmup=0, rounds=2, per_round=2, setup=setup,
                               timer=clock.timer)
    assert torch.seen == [1, 1, 2, 2, 1, 1, 2, 2]


def test_table_shows_median_ratio_range_and_flag():
    got, _ = _run({"jaxnn": [0.010] * 3, "torch[1t]": [0.020] * 3,
                   "torch[2t]": [0.005, 0.050, 0.010]})
    rows = _timing.stat_rows("m", "c", _timing.round_stats(got), flops=1e9)
    md = bench.table_markdown(rows, ceiling=1000.0)
    lines = {ln.split(" | ")[2]: ln for ln in md.splitlines() if ln.startswith("| m |")}
    assert "| 2.00× | 2.00–2.00× |  |" in lines["torch[1t]"]
    assert "| 1.00× | 0.50–5.00× | ⚠ rounds disagree" in lines["torch[2t]"]
    assert "| 10.00 | 10.00–10.00 |  |" in lines["jaxnn"]
    assert "(1 rows)" in md
