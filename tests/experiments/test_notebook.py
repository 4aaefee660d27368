"""The Colab TPU notebook's code cells (all but the install cell) run here on CPU."""

import importlib.resources
import json
import os

import pytest

# The notebook ships as package data of the installed lab book.
NOTEBOOK = importlib.resources.files("jaxnn_experiments") / "colab_tpu.ipynb"


@pytest.mark.slow  # trains the digits MLP twice and runs three experiments (~90 s on 2 cores)
def test_notebook_cells_run_on_cpu(tmp_path, monkeypatch, capsys):
    nb = json.loads(NOTEBOOK.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    install = [c for c in cells if "install" in c["metadata"].get("tags", [])]
    assert len(install) == 1 and "pip install" in "".join(install[0]["source"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAXNN_NOTEBOOK_OUT", str(tmp_path / "out"))
    namespace: dict = {}
    for cell in cells:
        if cell in install:
            continue
        source = "".join(cell["source"])
        assert not any(line.lstrip().startswith(("!", "%")) for line in source.splitlines()), \
            "only the install cell may use shell or magic lines"
        exec(compile(source, f"<cell {cell['id']}>", "exec"), namespace)
    out = capsys.readouterr().out
    assert "backend" in out
    assert namespace["acc_fp32"] > 0.9 and namespace["acc_bf16"] > 0.9
    for name in namespace["EXPERIMENTS"]:
        record = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert record["mode"] == "quick" and record["metrics"]
    assert (tmp_path / "out" / "report.md").exists()
    assert os.environ["JAXNN_NOTEBOOK_OUT"] == str(tmp_path / "out")
