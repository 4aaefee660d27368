"""The per-thread split of a traced training step (matmul, other kernels, sync)."""

import subprocess
import sys

import pytest

from jaxnn_experiments.bench import _trace as trace

HLO = """\
%fused_computation (param_0: f32[4,8], param_1: f32[16,8]) -> f32[4,16] {
  ROOT %dot.3 = f32[4,16]{1,0} dot(%param_0, %param_1), metadata={op_name="jit(step)/while/body/dot_general"}
}
ENTRY %main {
  %ynn_fusion = f32[4,16]{1,0} fusion(%a, %b), kind=kCustom, calls=%fused_computation, metadata={op_name="jit(step)/jvp()/while/body/dot_general" stack_frame_id=3}
  %multiply_tanh_fusion = f32[4,16]{1,0} fusion(%ynn_fusion), kind=kLoop, metadata={op_name="jit(step)/jvp()/tanh"}
  %copy.7 = f32[4,16]{0,1} copy(%multiply_tanh_fusion)
  %while.2 = (s32[], f32[4,8]{1,0}) while(%tuple), condition=%cond, body=%body, metadata={op_name="jit(step)/while"}
  ROOT %all-reduce.1 = f32[16,8]{1,0} all-reduce(%x), channel_id=1, to_apply=%add
}
"""


def test_hlo_ops_names_each_instruction_by_its_jax_op_and_skips_loops():
    ops = trace.hlo_ops(HLO)
    assert ops["ynn_fusion"] == "dot_general" and ops["dot.3"] == "dot_general"
    assert ops["multiply_tanh_fusion"] == "tanh"
    assert ops["copy.7"] == ""                  # made by XLA, no JAX op behind it
    assert "while.2" not in ops                 # its span holds its body's kernels
    assert trace.part_of("ynn_fusion", ops) == "matmul"
    assert trace.part_of("copy.7", ops) == "other kernels"
    assert trace.part_of("all-reduce.1", ops) == "sync"
    assert trace.part_of("Rendezvous", ops) == "sync"
    assert trace.part_of("while.2", ops) is None
    assert trace.part_of("ThunkExecutor::Execute", ops) is None


def test_summarize_sums_per_thread_and_per_call():
    ops = trace.hlo_ops(HLO)
    meta = [{"ph": "M", "name": "thread_name", "pid": 1, "tid": t, "args": {"name": n}}
            for t, n in ((10, "eigen-0"), (11, "eigen-1"))]
    ev = meta + [
        {"ph": "X", "pid": 1, "tid": 10, "name": "ynn_fusion", "dur": 3000},
        {"ph": "X", "pid": 1, "tid": 10, "name": "ynn_fusion", "dur": 1000},
        {"ph": "X", "pid": 1, "tid": 10, "name": "copy.7", "dur": 500},
        {"ph": "X", "pid": 1, "tid": 10, "name": "while.2", "dur": 9000},
        {"ph": "X", "pid": 1, "tid": 11, "name": "all-reduce.1", "dur": 200},
        {"ph": "i", "pid": 1, "tid": 11, "name": "ynn_fusion"},          # not a span
    ]
    s = trace.summarize(ev, ops, calls=2)
    assert set(s) == {"eigen-0", "eigen-1"}
    assert s["eigen-0"]["parts"] == {"matmul": 2.0, "other kernels": 0.25}
    assert s["eigen-0"]["kernels"]["ynn_fusion"] == pytest.approx(2.0)
    assert s["eigen-1"]["parts"] == {"sync": 0.1}


def test_report_of_a_tiny_step_finds_its_matmuls():
    out = trace.report("lstm", 4, 8, 5, D=3, calls=2)
    assert out.startswith("lstm B=4 D=3 H=8 T=5, one device:")
    assert "matmul" in out and "dot_general" in out


def test_report_traces_a_jaxnn_cell_the_peers_do_not_have():
    out = trace.report("gru", 4, 8, 5, D=3, calls=2, cell="gru")   # the reset-before GRU
    assert out.startswith("gru (jaxnn cell 'gru') B=4 D=3 H=8 T=5, one device:")


def test_the_command_line_splits_the_cpu_and_reports_sync():
    out = subprocess.run([sys.executable, "-m", "jaxnn_experiments.bench._trace", "gru",
                          "--batch", "4", "--hidden", "8", "--steps", "5", "--devices", "2",
                          "--calls", "2"], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    assert "batch over 2 CPU devices" in out
    threads = [ln for ln in out.splitlines() if ln.startswith("  thread ")]
    assert threads and any("matmul" in ln for ln in threads)


def test_the_command_line_traces_the_simple_rnn_and_lists_top_kernels():
    out = subprocess.run([sys.executable, "-m", "jaxnn_experiments.bench._trace", "rnn",
                          "--batch", "4", "--hidden", "8", "--steps", "5", "--calls", "2",
                          "--top", "2"], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    assert out.startswith("rnn B=4 D=64 H=8 T=5, one device:")
    blocks = out.split("\n  thread ")[1:]           # a thread's line, then its kernels
    assert blocks and any("matmul" in b.splitlines()[0] for b in blocks)
    assert all(len(b.splitlines()) - 1 <= 2 for b in blocks)
    assert max(len(b.splitlines()) - 1 for b in blocks) == 2
