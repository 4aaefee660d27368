"""The README's Python examples run as printed (the signature summary excepted); every link and
image path in the README, CONTRIBUTING.md and results/README.md resolves; every quoted
``jaxnn run`` names an experiment."""

import dataclasses
import os
import re
import tomllib
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


# --- links, images and quoted commands ---------------------------------------------------------

ROOT = README.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "results" / "README.md"]
EXPERIMENTS = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                  ["project"]["entry-points"]["jaxnn.experiments"])


def _prose(text: str) -> str:
    """The Markdown without fenced code blocks and inline code (no links live there)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#{1,6} (.+?)\s*$", _prose(path.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _targets(path: Path) -> list[str]:
    """Every link and image target in ``path``: [text](target), ![alt](target), <img src=...>."""
    text = _prose(path.read_text())
    return (re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
            + re.findall(r"<img[^>]*\bsrc=\"([^\"]+)\"", text))


def test_the_link_checker_sees_links_and_anchors():
    targets = _targets(ROOT / "README.md")
    assert "results/README.md" in targets and "#slips-in-the-notes" in targets
    assert any(t.endswith(".png") for t in targets)
    assert {"slips-in-the-notes", "the-lecture-notes", "results"} <= _anchors(ROOT / "README.md")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(doc):
    broken = []
    for target in _targets(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):           # https:, mailto:: not checked
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists() or ROOT.resolve() not in [file, *file.parents]:
            broken.append(f"{target}: no such file in the repository")
        elif anchor and (file.suffix != ".md" or anchor not in _anchors(file)):
            broken.append(f"{target}: no heading with anchor #{anchor} in {file.name}")
    assert not broken, "\n".join(broken)


def test_every_quoted_jaxnn_run_names_an_experiment():
    names = set()
    for doc in DOCS:
        names |= set(re.findall(r"\bjaxnn run ([^\s`'\"]+)", doc.read_text()))
    assert "mlp-mnist" in names                              # the search finds the commands
    unknown = names - EXPERIMENTS - {"all", "NAME"}
    assert not unknown, f"jaxnn run with names that are no experiment: {sorted(unknown)}"
