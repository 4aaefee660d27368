"""The README's Python examples run as printed (the signature summary excepted)."""

import dataclasses
import os
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
RUNNABLE = [b for b in BLOCKS if not b.startswith("# the signatures")]


def test_the_readme_has_its_examples():
    assert len(BLOCKS) - len(RUNNABLE) == 1     # exactly one signature summary
    assert any("jaxnn.check" in b for b in RUNNABLE)
    assert any("class Additive(cells.Cell)" in b for b in RUNNABLE)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(RUNNABLE)))
def test_readme_example_runs(index, tmp_path, capsys):
    from jaxnn.nn import cells, recurrent

    os.chdir(tmp_path)                          # the MLP example writes ckpt/ and log.jsonl
    # names the snippets take from their surrounding prose
    ns = {"dataclasses": dataclasses, "jax": jax, "jnp": jnp, "cells": cells,
          "recurrent": recurrent, "key": jax.random.key(0), "D": 3, "H": 4,
          "x": jnp.ones((2, 5, 3)), "lengths": jnp.array([5, 2]), "optax": pytest.importorskip("optax")}
    exec(compile(RUNNABLE[index], f"README.md python block {index}", "exec"), ns)
    out = capsys.readouterr().out
    if "test accuracy" in RUNNABLE[index]:
        accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
        assert accuracy > 0.93                  # the printed "about 0.97"
    if "hs, " in RUNNABLE[index]:
        assert ns["hs"].shape == (2, 5, 4)
