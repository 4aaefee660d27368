"""jaxnn.host: freed memory stays in the process, so large per-call buffers stop page-faulting.

Each check runs in a fresh interpreter: the setting is process-wide and must not leak into the
rest of the test session."""

import json
import subprocess
import sys

import pytest

from jaxnn import cli, host

PROBE = r"""
import ctypes, json, resource, sys
from jaxnn import host
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def touch_and_free(n):                  # malloc, write every byte (as XLA does), free
    p = libc.malloc(n); ctypes.memset(p, 1, n); libc.free(p)
applied = host.apply_from_environment() if sys.argv[1] == "env" else (
    host.keep_freed_memory() if sys.argv[1] == "on" else False)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch_and_free(64 * 2**20)          # 64 MB: above glibc's largest mmap threshold (32 MB)
f0 = faults()
for _ in range(5):
    touch_and_free(64 * 2**20)
print(json.dumps({"applied": applied, "faults_per_alloc": (faults() - f0) / 5}))
"""


def _probe(mode, env=None):
    import os

    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt: Linux only")
def test_freed_memory_is_reused_without_page_faults():
    pages = 64 * 2**20 // 4096                             # 16,384 pages of 4 KiB
    off, on = _probe("off"), _probe("on")
    assert off["applied"] is False and off["faults_per_alloc"] > pages / 2   # mmap, fresh pages
    assert on["applied"] is True and on["faults_per_alloc"] < pages / 100   # the same pages
    assert _probe("env", {host.ENV: "0"}) == {**off, "faults_per_alloc": off["faults_per_alloc"]}
    assert _probe("env", {host.ENV: "1"})["applied"] is True


def test_the_cli_applies_it_for_run_and_bench_only(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(host, "apply_from_environment", lambda: calls.append(1) or True)
    assert cli.main(["list"]) == 0
    assert calls == []
    assert cli.main(["run", "no-such-experiment", "--quick"]) == 2
    assert calls == [1]
    capsys.readouterr()
