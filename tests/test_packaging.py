"""Packaging: what the wheel installs (``jaxnn`` and ``jaxnn_experiments``, no generic
``experiments``), the explicit package list, and the experiments' entry points."""

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
ENTRY_POINTS = PYPROJECT["project"]["entry-points"]["jaxnn.experiments"]


def _package_folders() -> set[str]:
    """Importable names of every package folder, ``experiments/`` as ``jaxnn_experiments``."""
    names = set()
    for top, installed in (("jaxnn", "jaxnn"), ("experiments", "jaxnn_experiments")):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / top).parts
            names.add(".".join((installed, *parts)))
    return names


def test_every_package_folder_is_listed_and_nothing_else():
    assert SETUPTOOLS["package-dir"] == {"jaxnn_experiments": "experiments"}
    assert set(SETUPTOOLS["packages"]) == _package_folders()
    assert {p.split(".")[0] for p in SETUPTOOLS["packages"]} == {"jaxnn", "jaxnn_experiments"}


def _defines_title(path: Path) -> bool:
    tree = ast.parse(path.read_bytes())
    return any(isinstance(t, ast.Name) and t.id == "TITLE"
               for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
               for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))


def test_every_experiment_module_is_registered():
    modules = {p.stem for p in (ROOT / "experiments").glob("*.py")
               if not p.stem.startswith("_") and _defines_title(p)}
    assert ENTRY_POINTS == {m.replace("_", "-"): f"jaxnn_experiments.{m}" for m in sorted(modules)}


def test_the_installed_metadata_matches_pyproject():
    """The environment was installed from this pyproject (else: pip install -e . again)."""
    installed = {ep.name: ep.value for ep in metadata.entry_points(group="jaxnn.experiments")
                 if ep.dist.name == "jaxnn"}
    assert installed == ENTRY_POINTS
    (script,) = metadata.entry_points(group="console_scripts", name="jaxnn")
    assert script.value == "jaxnn.cli:main"


def test_the_library_does_not_need_the_extras():
    """Runtime dependencies are what jaxnn/ imports: flax and chex are extras (bench, dev)."""
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "flax" not in deps and "chex" not in deps
    assert any(d.startswith("flax") for d in extras["bench"])
    assert any(d.startswith("chex") for d in extras["dev"])
    imported = set()
    for path in (ROOT / "jaxnn").rglob("*.py"):
        tree = ast.parse(path.read_bytes())
        optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)
                    and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError"
                            for h in t.handlers)
                    for stmt in t.body for n in ast.walk(stmt)}   # try: import x / except ImportError
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    assert "jax" in imported and "flax" not in imported and "chex" not in imported


@pytest.mark.slow  # pip fetches setuptools for the isolated build (network, seconds)
def test_the_wheel_holds_jaxnn_and_jaxnn_experiments_only(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("jaxnn-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"jaxnn", "jaxnn_experiments"}
    assert {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")} == \
        {p.replace(".", "/") for p in SETUPTOOLS["packages"]}
    assert "jaxnn_experiments/colab_tpu.ipynb" in names
    assert "jaxnn/cli.py" in names and "jaxnn_experiments/bench/_timing.py" in names
    text = entry_points.decode()
    assert "jaxnn = jaxnn.cli:main" in text
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    with zipfile.ZipFile(wheel) as z:
        assert z.read(license_file) == (ROOT / "LICENSE").read_bytes()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert "[jaxnn.experiments]" in text and "mlp-mnist = jaxnn_experiments.mlp_mnist" in text


def test_the_license_and_citation_match_pyproject():
    """LICENSE is the Apache-2.0 text pyproject declares; CITATION.cff names the same version."""
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text            # the full text, not a stub
    citation = (ROOT / "CITATION.cff").read_text()
    cff = dict(re.findall(r'^([a-z-]+): "?([^"\n]*?)"?$', citation, re.M))
    assert cff["cff-version"] == "1.2.0" and cff["version"] == project["version"]
    assert cff["license"] == project["license"] and re.search(r"^authors:\n  - ", citation, re.M)
