"""The Colab TPU notebook: its install cell installs a wheel of this checkout into a scratch
environment whose JAX is "preinstalled" (as on Colab) without touching that JAX, and fails
loudly on a bad source; every other code cell runs here on CPU."""

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import jax
import pytest

# The notebook ships as package data of the installed lab book.
NOTEBOOK = importlib.resources.files("jaxnn_experiments") / "colab_tpu.ipynb"
ROOT = Path(__file__).parents[2]
SOURCE_LINE = re.compile(r"^JAXNN_SOURCE = .*$", re.M)


def _code_cells():
    nb = json.loads(NOTEBOOK.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _install_cell() -> str:
    (cell,) = [c for c in _code_cells() if "install" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def test_the_install_cell_takes_one_source_and_no_shell_lines():
    source = _install_cell()
    assert len(SOURCE_LINE.findall(source)) == 1
    assert "check=True" in source and "--no-deps" in source
    for cell in _code_cells():
        text = "".join(cell["source"])
        assert not any(ln.lstrip().startswith(("!", "%")) for ln in text.splitlines()), \
            f"cell {cell['id']}: shell and magic lines fail silently under nbconvert"


def _build_wheel(tmp: Path, pins: dict[str, str] | None = None) -> Path:
    """A wheel of this checkout, built offline from a clean copy (no stale build/ folder);
    ``pins`` replaces dependency strings of the copied pyproject.toml."""
    src = tmp / "src"
    src.mkdir(parents=True)
    for item in ROOT.iterdir():
        if item.is_file():
            shutil.copy2(item, src / item.name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for folder in ("jaxnn", "experiments"):
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    pyproject = (src / "pyproject.toml").read_text()
    for old, new in (pins or {}).items():
        assert old in pyproject
        pyproject = pyproject.replace(old, new)
    (src / "pyproject.toml").write_text(pyproject)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp), str(src)],
                   check=True, capture_output=True, timeout=300)
    (path,) = tmp.glob("jaxnn-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def _scratch_env(root: Path) -> Path:
    """A venv that sees this environment's packages (JAX and the rest) as preinstalled ones,
    but not its jaxnn: the way a Colab runtime looks before the install cell."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages",
                    str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                           "'purelib'))"], check=True, capture_output=True, text=True).stdout
    # a bare path line: this environment's packages are importable, its .pth files (the
    # editable jaxnn) are not processed
    Path(site.strip(), "preinstalled.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _run_install(python: Path, source: str, cwd: Path):
    cell = SOURCE_LINE.sub(f"JAXNN_SOURCE = {source!r}", _install_cell())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_NO_INDEX"] = "1"  # offline: anything pip would download is an error
    return subprocess.run([str(python), "-c", cell], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


@pytest.mark.slow  # builds a wheel and installs it into a scratch venv (~30 s on 2 cores)
def test_the_install_cell_installs_the_wheel_and_keeps_jax(wheel, tmp_path):
    python = _scratch_env(tmp_path / "venv")
    proc = _run_install(python, str(wheel), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"kept: jax {jax.__version__}" in proc.stdout and "added: nothing" in proc.stdout
    probe = ("import importlib.metadata as m, json, jax, jaxnn, jaxnn_experiments; "
             "print(json.dumps([jaxnn.__file__, jaxnn_experiments.__file__, jax.__file__, "
             "jax.__version__, m.version('jaxnn')]))")
    found = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True,
                                      text=True, check=True, cwd=tmp_path, timeout=120).stdout)
    scratch = (tmp_path / "venv").resolve()
    assert all(scratch in Path(f).resolve().parents for f in found[:2])   # not this checkout
    assert found[2:4] == [jax.__file__, jax.__version__]    # the preinstalled JAX, unchanged
    from jaxnn import __version__

    assert found[4] == __version__


@pytest.mark.slow
def test_a_jaxnn_asking_for_another_jax_leaves_the_preinstalled_one(tmp_path):
    """Colab's JAX may lie outside jaxnn's pins: the cell keeps it and says so (pip, asked
    for the pinned JAX, would have had to download it, which fails offline)."""
    wheel = _build_wheel(tmp_path / "w", {'"jax>=0.10.2,<0.11"': '"jax>=99"',
                                          '"jaxlib>=0.10.2,<0.11"': '"jaxlib>=99"'})
    python = _scratch_env(tmp_path / "venv")
    proc = _run_install(python, str(wheel), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"note: this runtime's jax {jax.__version__} is outside" in proc.stdout
    assert "note: this runtime's jaxlib" in proc.stdout
    probe = "import jax, jaxnn; print(jax.__version__, jaxnn.__file__)"
    version, where = subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                                    check=True, cwd=tmp_path, timeout=120).stdout.split()
    assert version == jax.__version__ and (tmp_path / "venv").resolve() in Path(where).parents


@pytest.mark.slow
def test_the_install_cell_raises_on_a_bad_source(tmp_path):
    python = _scratch_env(tmp_path / "venv")
    proc = _run_install(python, str(tmp_path / "no-such-jaxnn-0.1.0-py3-none-any.whl"), tmp_path)
    assert proc.returncode != 0 and "FileNotFoundError: JAXNN_SOURCE" in proc.stderr
    broken = tmp_path / "jaxnn-0.1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip file")
    proc = _run_install(python, str(broken), tmp_path)
    assert proc.returncode != 0 and "CalledProcessError" in proc.stderr   # pip failed, loudly
    assert not list((tmp_path / "venv").rglob("jaxnn-*.dist-info"))


@pytest.mark.slow  # trains the digits MLP twice and runs three experiments (~90 s on 2 cores)
def test_notebook_cells_run_on_cpu(tmp_path, monkeypatch, capsys):
    cells = _code_cells()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAXNN_NOTEBOOK_OUT", str(tmp_path / "out"))
    namespace: dict = {}
    for cell in cells:
        if "install" in cell["metadata"].get("tags", []):
            continue
        source = "".join(cell["source"])
        exec(compile(source, f"<cell {cell['id']}>", "exec"), namespace)
    out = capsys.readouterr().out
    assert "backend" in out and "data cache:" in out          # jaxnn info, jaxnn fetch --list
    assert namespace["OUT"] == tmp_path / "out"
    assert namespace["acc_fp32"] > 0.9 and namespace["acc_bf16"] > 0.9
    for name in namespace["EXPERIMENTS"]:
        record = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert record["mode"] == "quick" and record["metrics"]
    assert (tmp_path / "out" / "report.md").exists()
