"""The plot checklist: ``audit`` passes a complete figure and names each defect of a broken one;
``savefig`` refuses a defective plot under JAXNN_STRICT_PLOTS=1 and warns without it."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxnn.errors import JaxnnError  # noqa: E402
from jaxnn_experiments import _style  # noqa: E402
from jaxnn_experiments._base import savefig  # noqa: E402

IMG = np.arange(12.0).reshape(3, 4)


def _good():
    """Two curves with a legend, a labelled image with a colour bar, a titled thumbnail."""
    fig, (a, b, c) = plt.subplots(1, 3)
    a.plot([0, 1], [0, 1], label="train")
    a.plot([0, 1], [1, 0], label="validation")
    a.legend()
    _style.label(a, "loss", "epoch", "cross-entropy")
    im = b.imshow(IMG, cmap="RdBu_r")
    _style.colorbar(im, b, "weight")
    _style.label(b, "weights", "input", "unit")
    _style.picture(c, IMG, "digit")
    return fig


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_a_complete_figure_passes():
    assert _style.audit(_good()) == []


def test_missing_title():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    _style.label(ax, x="epoch", y="loss")
    assert [p for p in _style.audit(fig) if "no title" in p] == ["axes 0 has no title"]


def test_missing_axis_labels():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    _style.label(ax, "t", x="epoch")
    assert _style.audit(fig) == ["axes 0 ('t'): the y axis has no label"]


def test_a_shared_axis_label_is_enough():
    fig, (a, b) = plt.subplots(1, 2, sharey=True)
    for ax in (a, b):
        ax.plot([0, 1], [0, 1])
        _style.label(ax, "t", x="epoch")
    a.set_ylabel("loss")
    assert _style.audit(fig) == []


def test_two_series_without_legend():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a")
    ax.plot([0, 1], [1, 0], label="b")
    _style.label(ax, "t", "x", "y")
    (p,) = _style.audit(fig)
    assert "2 labelled series" in p and "no legend" in p
    _style.legend(fig)                   # a figure legend serves every axes
    assert _style.audit(fig) == []


def test_a_valued_image_needs_a_labelled_colour_bar():
    fig, ax = plt.subplots()
    im = ax.imshow(IMG)
    _style.label(ax, "t", "x", "y")
    (p,) = _style.audit(fig)
    assert "AxesImage" in p and "no colour bar" in p
    fig.colorbar(im, ax=ax)
    assert _style.audit(fig) == ["colour bar of axes 0 ('t') has no label (what the colour "
                                 "means, with its unit)"]


def test_filled_contour_and_mesh_need_colour_bars_named_classes_do_not():
    fig, (a, b, c) = plt.subplots(1, 3)
    a.contourf(IMG, cmap="coolwarm")
    b.pcolormesh(IMG)
    c.contourf(IMG, levels=[0, 5, 12], colors=["#ddeeff", "#ffdddd"])   # two named regions
    for ax in (a, b, c):
        _style.label(ax, "t", "x", "y")
    problems = _style.audit(fig)
    assert len(problems) == 2
    assert "axes 0" in problems[0] and "ContourSet" in problems[0]
    assert "axes 1" in problems[1] and "QuadMesh" in problems[1]


def test_one_colour_bar_serves_images_of_the_same_scale():
    fig = _style.thumbnails([IMG, -IMG], ["a", "b"], suptitle="filters",
                            colorbar_label="weight", symmetric=True)
    assert _style.audit(fig) == []
    fig, (a, b) = plt.subplots(1, 2)
    im = a.imshow(IMG, vmin=0, vmax=11)
    b.imshow(IMG, vmin=0, vmax=20)       # another scale: the bar does not explain it
    a.set_axis_off(), b.set_axis_off()
    fig.colorbar(im, ax=[a, b], label="w")
    fig.suptitle("s")
    (p,) = _style.audit(fig)
    assert p.startswith("axes 1") and "no colour bar" in p


def test_thumbnails_need_a_title_or_a_suptitle():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        _style.picture(ax, IMG)
    assert len(_style.audit(fig)) == 2
    fig.suptitle("digits")
    assert _style.audit(fig) == []


def test_empty_axes_are_reported():
    fig = _style.thumbnails([IMG] * 3, suptitle="three", ncols=8)
    assert len(fig.axes) == 3 and _style.audit(fig) == []     # no empty cells
    fig, axes = plt.subplots(1, 3)
    _style.picture(axes[0], IMG)
    for ax in axes[1:]:
        ax.set_axis_off()
    fig.suptitle("one of three")
    assert _style.audit(fig) == ["axes 1 is empty (remove it)", "axes 2 is empty (remove it)"]


def test_heatmap_passes():
    fig, ax = plt.subplots()
    _style.heatmap(ax, np.array([[5, 1], [0, 7]]), title="confusion", xlabel="predicted",
                   ylabel="true", colorbar_label="test images", log=True)
    assert _style.audit(fig) == []


def test_series_keep_overlapping_lines_apart():
    a, b = _style.series(0, 2), _style.series(1, 2)
    assert a["color"] != b["color"] and a["linestyle"] != b["linestyle"]
    assert a["marker"] != b["marker"] and a["linewidth"] > b["linewidth"]
    assert a["zorder"] < b["zorder"]


def test_savefig_strict_raises_and_lax_warns(tmp_path, monkeypatch):
    def bad():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        return fig

    monkeypatch.setenv("JAXNN_STRICT_PLOTS", "1")
    with pytest.raises(JaxnnError, match=r"bad.png .*has no title"):
        savefig(bad(), tmp_path, "bad.png")
    assert not (tmp_path / "bad.png").exists()
    monkeypatch.setenv("JAXNN_STRICT_PLOTS", "0")
    with pytest.warns(UserWarning, match="x axis has no label"):
        assert savefig(bad(), tmp_path, "bad.png") == "bad.png"
    assert (tmp_path / "bad.png").stat().st_size > 1000
    assert savefig(_good(), tmp_path, "good.png") == "good.png"
