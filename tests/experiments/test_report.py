"""The run report: report.md and the self-contained report.html, and how they read.

One run folder is built per module: ``jaxnn run all --quick`` (narrowed to the cheap
``chain-rule``, a real experiment) into a folder that already holds hand-written runs of
other experiments: ``mlp-mnist`` and ``lenet5`` in quick mode (8×8 digits, beside MNIST
references), ``sunspots`` with one seed, and a third-party experiment that is not installed.
The page is then rendered by headless Chromium (skipped when it is missing, except under CI).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import jaxnn_experiments
from jaxnn import cli
from jaxnn_experiments import report, report_html
from jaxnn_experiments._base import comparison_rows, comparison_table, other_data

FAKES = {
    "mlp-mnist": dict(
        mode="quick", config={"dataset": "digits", "hidden": 100},
        # the first keys are not the HEADLINE (linear_test_error, mlp_test_error)
        metrics={"linear_best_epoch": 17.0, "n_train": 1437.0, "n_test": 360.0,
                 "mlp_best_epoch": 24.0, "linear_test_error": 0.0178, "mlp_test_error": 0.0111},
        reference={"linear_test_error": 0.12, "linear_test_error_best": 0.076,
                   "mlp_test_error": 0.016},
        reference_source="LeCun et al. (1998), fig. 9", plots=["curves.png", "weights.png"],
        notes="Test error on **digits**: see `mlp_test_error`.\n\n| a | b |\n|---|---|\n| 1 | 2 |"),
    "lenet5": dict(
        mode="quick", config={"dataset": "digits", "distorted_epochs": 0},
        metrics={"test_error": 0.0278, "test_error_modern": 0.0167},
        reference={"test_error": 0.0095, "test_error_distorted": 0.008},
        plots=["feature_maps.png"]),
    "sunspots": dict(
        mode="quick", config={"seeds": 1, "cells": ["gru"]},
        metrics={"best_valid_mse_scaled_gru": 0.19, "test_rmse_naive": 30.35,
                 "test_rmse_gru": 16.69, "test_rmse_gru_seed_std": 0.0, "test_rmse_ar": 17.47},
        reference={}, plots=["sunspots_forecasts.png"]),
    "my-lab": dict(
        experiment="my-third-party-experiment", mode="full", config={"n": 3},
        metrics={"alpha": 1.0, "beta": 2.0, "gamma": 3.0, "delta": 4.0, "epsilon": 5.0},
        reference={"alpha": 1.5}, plots=["one.png"], status="failed", error="ValueError: x"),
}
COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]


def _png(path: Path, colour: str) -> None:
    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.bar([0, 1, 2], [3, 1, 2], color=colour)
    ax.set_title(path.stem)
    fig.savefig(path)
    plt.close(fig)


def _fake(run: Path, folder: str, spec: dict) -> None:
    out = run / folder
    out.mkdir(parents=True)
    for i, p in enumerate(spec["plots"]):
        _png(out / p, COLOURS[i % len(COLOURS)])
    record = {"experiment": folder, "title": f"The {folder} experiment", "seed": 0,
              "status": "done", "seconds": 1.5, "notes": "", "reference_source": "", **spec}
    (out / "results.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A run folder: four hand-written runs, then ``jaxnn run all --quick`` of chain-rule."""
    run = tmp_path_factory.mktemp("run")
    for folder, spec in FAKES.items():
        _fake(run, folder, spec)
    with pytest.MonkeyPatch.context() as mp:  # `all` = the one cheap experiment
        mp.setattr(jaxnn_experiments, "discover",
                   lambda: {"chain-rule": "jaxnn_experiments.chain_rule"})
        assert cli.main(["run", "all", "--quick", "--out", str(run)]) == 0
    for name in ("report.md", "report.html"):
        (run / name).rename(run / f"cli-{name}")
    report.build(run)  # again, with every experiment installed (their HEADLINE, FULL)
    return run


def _section(md: str, folder: str) -> str:
    """The Markdown of one experiment's section."""
    return re.search(rf"^## {re.escape(folder)}\n(.*?)(?=^## |\Z)", md, re.S | re.M).group(1)


class _Tags(HTMLParser):
    """Every start tag as ``(tag, attrs)``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _html_section(html: str, folder: str) -> str:
    return re.search(rf'<section id="{re.escape(folder)}".*?</section>', html, re.S).group(0)


FOLDERS = ["chain-rule", "lenet5", "mlp-mnist", "my-lab", "sunspots"]


def test_run_all_writes_both_reports(run):
    md, html = (run / "cli-report.md").read_text(), (run / "cli-report.html").read_text()
    for folder in FOLDERS:
        assert f"\n## {folder}\n" in md and f'<section id="{folder}"' in html
    record = json.loads((run / "chain-rule" / "results.json").read_text())
    assert record["status"] == "done" and record["plots"]


def test_quick_mode_references_marked_not_comparable(run):
    md = (run / "report.md").read_text()
    mlp = _section(md, "mlp-mnist")
    assert "| metric | ours | reference (full-mode data) |" in mlp
    assert "| linear_test_error | 0.0178 | 0.12 (full-mode data; not comparable) |" in mlp
    assert "used dataset=digits, not the full-mode data" in mlp
    assert "linear_test_error_best" not in mlp  # a reference-only row, not comparable: dropped
    # the same data in both modes (chain-rule) or none named (sunspots): comparable
    for folder in ("chain-rule", "sunspots"):
        assert "not comparable" not in _section(md, folder)
    chain = _section(md, "chain-rule")
    assert re.search(r"^\| dL_da \| -2 \| -2 \|$", chain, re.M), chain

    html = (run / "report.html").read_text()
    cells = re.findall(r'<td class="nc">([^<]*)</td>', _html_section(html, "mlp-mnist"))
    assert cells == ["", "", "", "", "0.12 (full-mode data; not comparable)",
                     "0.016 (full-mode data; not comparable)"]
    assert "not comparable" not in _html_section(html, "chain-rule")


def test_other_data():
    quick = {"experiment": "mlp-mnist", "mode": "quick", "config": {"dataset": "digits"}}
    assert other_data(quick) == "dataset=digits"
    assert other_data({**quick, "config": {"dataset": "mnist"}}) == ""  # --set dataset=mnist
    assert other_data({**quick, "mode": "full"}) == "dataset=digits"  # full, --set digits
    assert other_data({"experiment": "sunspots", "mode": "quick", "config": {"seeds": 1}}) == ""
    assert other_data({"experiment": "text-classification", "mode": "quick",
                       "config": {"datasets": ["synthetic"]}}) == "datasets=synthetic"
    unknown = {"experiment": "not-installed", "mode": "quick", "config": {"corpus": "toy"}}
    assert other_data(unknown) == "corpus=toy"
    assert other_data({**unknown, "mode": "full"}) == ""


def test_headline_chooses_the_key_metrics(run):
    md = (run / "report.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith("| [mlp-mnist]"))
    assert row.endswith("| linear_test_error=0.0178, mlp_test_error=0.0111 |"), row
    row = next(line for line in md.splitlines() if line.startswith("| [sunspots]"))
    assert "test_rmse_naive=30.35, test_rmse_ar=17.47, test_rmse_gru=16.69 |" in row
    assert "best_valid" not in row and "std" not in row
    # no HEADLINE (not installed here): the first four metrics
    row = next(line for line in md.splitlines() if line.startswith("| [my-lab]"))
    assert "alpha=1, beta=2, gamma=3, delta=4 |" in row and "epsilon" not in row
    assert "| full (failed) |" in row
    html = (run / "report.html").read_text()
    assert "linear_test_error = 0.0178<br>mlp_test_error = 0.0111" in html


def test_headline_patterns_in_order():
    record = {"experiment": "adding-problem",
              "metrics": {"baseline_mse": 0.17, "test_mse_rnn_T50": 0.16, "test_mse_lstm_T50": 0.01,
                          "test_mse_gru_T50": 0.002, "test_mse_gru_T100": 0.003}}
    assert report.headline(record) == ["test_mse_lstm_T50", "test_mse_gru_T50",
                                       "test_mse_gru_T100", "test_mse_rnn_T50"]
    assert all(isinstance(jaxnn_experiments.load(n).HEADLINE, tuple)
               for n in jaxnn_experiments.discover())


def test_empty_rows_and_one_seed_spread_not_printed(run):
    md = (run / "report.md").read_text()
    assert "test_error_distorted" not in _section(md, "lenet5")  # no value in quick mode
    sun = _section(md, "sunspots")
    assert "| test_rmse_gru | 16.69 |  |" in sun and "seed_std" not in sun
    html = (run / "report.html").read_text()
    assert "test_error_distorted" not in html and "seed_std" not in html

    metrics = {"a": 1.0, "a_std": 0.5, "b": None}
    rows, others = comparison_rows(metrics, {"a": 2.0, "c": 3.0}, seeds=3)
    assert rows == [("a", "1", "2"), ("a_std", "0.5", "")] and others == [("c", "3")]
    rows, _ = comparison_rows(metrics, {}, seeds=1)
    assert rows == [("a", "1", "")]
    table = comparison_table(metrics, {"a": 2.0, "c": 3.0})
    assert table.splitlines()[-1] == "Other reference numbers: c 3"


def test_contents_list_links_every_section(run):
    md = (run / "report.md").read_text()
    contents = md.split("\n## ")[0]  # the summary table, before the first section
    for folder in FOLDERS:
        assert f"| [{folder}](#{folder}) |" in contents and f"\n## {folder}\n" in md
    html = (run / "report.html").read_text()
    tags = _tags(html)
    nav = re.search(r'<nav id="contents">.*?</nav>', html, re.S).group(0)
    assert re.findall(r'href="#([^"]+)"', nav) == FOLDERS
    assert [a["id"] for t, a in tags if t == "section"] == FOLDERS


def test_html_is_self_contained(run):
    html = (run / "report.html").read_text()
    tags = _tags(html)
    links = [a[k] for _, a in tags for k in ("src", "href") if a.get(k)]
    assert links and not [u for u in links if re.match(r"(https?:)?//", u, re.I)]
    assert not [t for t, _ in tags if t in ("link", "script", "iframe", "object")]
    assert "@import" not in html and "url(" not in html
    images = [a for t, a in tags if t == "img"]
    plots = [(f, p) for f in FOLDERS
             for p in json.loads((run / f / "results.json").read_text())["plots"]]
    assert len(images) == len(plots) >= 6
    for img, (folder, plot) in zip(images, plots):
        head, data = img["src"].split(",", 1)
        assert head == "data:image/png;base64" and img["data-plot"] == plot
        assert base64.b64decode(data) == (run / folder / plot).read_bytes()


def test_html_notes_and_status(run):
    mlp = _html_section((run / "report.html").read_text(), "mlp-mnist")
    assert "<strong>digits</strong>" in mlp and "<code>mlp_test_error</code>" in mlp
    assert "<th>a</th><th>b</th>" in mlp and "<td>1</td><td>2</td>" in mlp
    assert "LeCun et al. (1998), fig. 9" in mlp
    lab = _html_section((run / "report.html").read_text(), "my-lab")
    assert "Run failed: ValueError: x" in lab


def test_markdown_subset():
    html = report_html.markdown("Intro *x* and a [paper](https://example.org/p) and "
                                "[above](#lenet5) <b>.\n- one `a<b`\n- two\n\n## Head\ntext")
    assert "<em>x</em>" in html and "paper (<code>https://example.org/p</code>)" in html
    assert 'href="https' not in html and '<a href="#lenet5">above</a>' in html
    assert "&lt;b&gt;" in html and "<li>one <code>a&lt;b</code></li><li>two</li>" in html
    assert "<h4>Head</h4>" in html and "<p>text</p>" in html
    assert report_html.markdown("2*3*4 and a*b") == "<p>2*3*4 and a*b</p>"


# ------------------------------------------------------------------- in a real browser

def _chromium() -> str:
    path = next((p for p in map(shutil.which, ("chromium", "chromium-browser",
                                                "google-chrome")) if p), None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Chromium (Debian: "
                        "apt-get install chromium; .ci/run does it as root)")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return path


#: marks each image with whether it decoded (naturalWidth > 0) and its rendered width,
#: once the page has loaded, so that --dump-dom shows it
MARK = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    img.dataset.decoded = img.complete && img.naturalWidth > 0 ? "yes" : "no";
    img.dataset.shownWidth = Math.round(img.getBoundingClientRect().width);
  }
  document.body.dataset.checked = "yes";
});
</script>"""


def _browser(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={tmp / 'profile'}", "--no-first-run",
                           "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=90, check=True)


def test_browser_renders_every_section_and_plot(run, tmp_path):
    chromium = _chromium()
    page = tmp_path / "marked.html"
    html = (run / "report.html").read_text()
    page.write_text(html.replace("</body>", MARK + "\n</body>"))
    dom = _browser(chromium, tmp_path, "--virtual-time-budget=5000", "--window-size=1200,2000",
                   "--dump-dom", page.as_uri()).stdout
    tags = _tags(dom)
    assert any(t == "body" and a.get("data-checked") == "yes" for t, a in tags), dom[:500]
    assert [a["id"] for t, a in tags if t == "section"] == FOLDERS
    images = [a for t, a in tags if t == "img"]
    assert len(images) == html.count("<img ") >= 6
    assert all(a["data-decoded"] == "yes" and int(a["data-shown-width"]) > 50
               for a in images), images and [(a["data-plot"], a["data-decoded"]) for a in images]

    shot = tmp_path / "report.png"
    _browser(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,2000",
             "--hide-scrollbars", (run / "report.html").as_uri())
    pixels = plt.imread(shot)[..., :3]
    assert pixels.shape == (2000, 1200, 3)
    assert pixels.std() > 0.05  # not a blank page
    grey = pixels.mean(-1)
    assert 0.01 < np.mean(grey < 0.5) < 0.5  # dark text on a light page
    if os.environ.get("JAXNN_REPORT_SCREENSHOT"):  # to look at it
        shutil.copy(shot, os.environ["JAXNN_REPORT_SCREENSHOT"])


def test_browser_test_skips_without_chromium_only_outside_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        _chromium()


def test_a_missing_plot_is_named_not_broken(tmp_path):
    record = {"experiment": "x", "mode": "full", "metrics": {"a": 1.0}, "reference": {},
              "plots": ["gone.png"]}
    html = report_html.render("t", [report.section("x", record)], tmp_path)
    assert "<img" not in html and "plot gone.png: missing" in html
