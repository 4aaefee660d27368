"""The lab book's plotting style and the checklist every saved plot passes.

One place for the look of every figure the experiments write:

- :data:`RC` / :func:`apply`: matplotlib rcParams (figure size, fonts, dpi, a colour-blind safe
  colour cycle with a dash pattern per colour, so overlapping curves stay apart);
- :func:`series`: colour, dashes and hollow marker of the i-th series, for plots whose curves
  may lie on top of one another (the first drawn widest and underneath);
- helpers the experiments call: :func:`label` (title and axis labels in one call),
  :func:`colorbar` (a labelled colour bar, shared by several images), :func:`picture` (an
  image whose colour is the picture itself, not a value), :func:`thumbnails` (a tight grid of
  small images without whitespace or empty cells), :func:`heatmap` (an annotated matrix with
  its colour bar), :func:`legend` (one legend per axes, or one for the figure);
- :func:`audit`: what a figure lacks — titles, axis labels, legends, colour bars, empty axes.
  :func:`jaxnn_experiments._base.savefig` runs it on every plot; with ``JAXNN_STRICT_PLOTS=1``
  (the test suite sets it) a finding raises instead of warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.collections import Collection
from matplotlib.contour import ContourSet
from matplotlib.image import AxesImage

#: Okabe & Ito's colour-blind safe palette (black last: it is kept for references)
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
          "#000000")
#: a dash pattern per colour, so two curves on top of each other both stay visible
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)),
              (0, (8, 2, 2, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: gid of an image whose colour is the picture (a digit, a feature map), not a value
PICTURE = "jaxnn-picture"
DPI = 110

RC: dict[str, Any] = {
    "figure.figsize": (6.4, 4.2),
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "font.size": 9.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8,
    "legend.framealpha": 0.85,
    "figure.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=COLORS) + cycler(linestyle=LINESTYLES),
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "image.cmap": "viridis",
    "image.interpolation": "nearest",
}


def apply() -> None:
    """Make :data:`RC` matplotlib's defaults (the lab book is headless and draws only PNGs)."""
    mpl.rcParams.update(RC)


def series(i: int, n: int | None = None) -> dict[str, Any]:
    """Keyword arguments of ``ax.plot`` for the ``i``-th of ``n`` series that may overlap.

    Each series gets its own colour, dash pattern and hollow marker; earlier series are drawn
    wider and underneath, so a later one lying exactly on top leaves the earlier one showing.

    Args:
        i: the series' index (0-based).
        n: how many series the axes holds (default: as many as there are colours).

    Returns:
        ``{"color", "linestyle", "marker", "markersize", "markerfacecolor", "linewidth",
        "zorder"}`` for ``ax.plot``.
    """
    n = len(COLORS) if n is None else n
    k = i % len(COLORS)
    return {"color": COLORS[k], "linestyle": LINESTYLES[k], "marker": MARKERS[k],
            "markersize": 4 + 4 * (n - 1 - i) / max(n - 1, 1), "markerfacecolor": "none",
            "linewidth": 1.2 + 1.6 * (n - 1 - i) / max(n - 1, 1), "zorder": 2 + i}


def label(ax, title: str | None = None, x: str | None = None, y: str | None = None,
          **kwargs) -> Any:
    """Set the title and axis labels of ``ax`` at once (``None`` leaves one as it is).

    Args:
        ax: a matplotlib Axes.
        title, x, y: the title, x-axis and y-axis labels (say what and in which unit).
        **kwargs: other ``ax.set`` properties (``xscale="log"``, ``ylim=...``).

    Returns:
        ``ax``.
    """
    props = {"title": title, "xlabel": x, "ylabel": y}
    ax.set(**{k: v for k, v in props.items() if v is not None}, **kwargs)
    return ax


def legend(ax_or_fig, **kwargs):
    """A legend for an Axes, or one for a whole Figure gathering its axes' labelled series
    (each label once), placed below the axes. Returns the Legend."""
    if isinstance(ax_or_fig, mpl.figure.Figure):
        fig = ax_or_fig
        handles: dict[str, Any] = {}
        for ax in fig.axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
        kwargs = {"loc": "outside lower center", "ncols": min(len(handles), 4), **kwargs}
        return fig.legend(list(handles.values()), list(handles), **kwargs)
    return ax_or_fig.legend(**kwargs)


def colorbar(mappable, ax, label: str, **kwargs):
    """A colour bar for ``mappable`` beside ``ax`` (an Axes or a list of them), labelled.

    Several images share one bar when they share ``mappable``'s norm and colour map
    (:func:`picture`/:func:`thumbnails` with ``share=True`` arrange that).

    Args:
        mappable: the image, mesh or filled contour whose colours the bar explains.
        ax: the Axes (or sequence of Axes) to take the bar's room from.
        label: what the colour means, with its unit.
        **kwargs: passed to ``Figure.colorbar`` (``shrink``, ``orientation``, …).

    Returns:
        the Colorbar.
    """
    fig = np.ravel(ax)[0].figure if not hasattr(ax, "figure") else ax.figure
    return fig.colorbar(mappable, ax=ax, label=label, **kwargs)


def picture(ax, image, title: str | None = None, **kwargs) -> AxesImage:
    """Show ``image`` as a picture in ``ax`` (no axes, no ticks): its colours are the image
    itself — a digit, a feature map scaled to its own range — so it needs no colour bar.

    Args:
        ax: a matplotlib Axes.
        image: (H, W) or (H, W, 3|4) array.
        title: a short title above it.
        **kwargs: passed to ``ax.imshow`` (``cmap``, ``vmin``, ``vmax``).

    Returns:
        the AxesImage (gid :data:`PICTURE`).
    """
    im = ax.imshow(image, **{"cmap": "gray_r", **kwargs})
    im.set_gid(PICTURE)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title, fontsize=8, pad=2)
    return im


def thumbnails(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, *,
               suptitle: str, ncols: int = 8, size: float = 1.1, cmap: str = "gray_r",
               colorbar_label: str | None = None, symmetric: bool = False):
    """A tight grid of small images: as many cells as images, no empty row, little whitespace.

    Args:
        images: N arrays (H, W), all shown at the same size.
        titles: N short titles (one per image) or None.
        suptitle: the figure's title (what the images are).
        ncols: cells per row (fewer when there are fewer images).
        size: the side of one cell, in inches.
        cmap: colour map.
        colorbar_label: None: each image is a picture (its own range, no colour bar). A string:
            all images share one colour scale (symmetric about 0 with ``symmetric``) and one
            colour bar with this label, because the colour carries a value.
        symmetric: with a shared scale, centre it on 0 (for diverging colour maps).

    Returns:
        the Figure.
    """
    n = len(images)
    if n == 0:
        fig, ax = plt.subplots(figsize=(4, 1.2))
        ax.text(0.5, 0.5, "(none)", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.suptitle(suptitle)
        return fig
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    title_h = 0.25 if titles is not None else 0.05
    bar_w = 0.9 if colorbar_label is not None else 0.0
    fig = plt.figure(figsize=(ncols * size + bar_w, nrows * (size + title_h) + 0.45),
                     layout="constrained")
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.01, hspace=0.01)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    kw: dict[str, Any] = {"cmap": cmap}
    if colorbar_label is not None:
        lim = float(max(np.max(np.abs(a)) for a in images))
        lo = -lim if symmetric else float(min(np.min(a) for a in images))
        kw["norm"] = mpl.colors.Normalize(lo, lim if symmetric else
                                          float(max(np.max(a) for a in images)))
    ims = []
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            fig.delaxes(ax)
            continue
        ims.append(picture(ax, images[k], None if titles is None else titles[k], **kw))
        if colorbar_label is not None:
            ims[-1].set_gid(None)           # colour is a value here: the bar explains it
    if colorbar_label is not None:
        fig.colorbar(ims[0], ax=axes.ravel()[:n].tolist(), label=colorbar_label,
                     shrink=0.9, aspect=12 * nrows)
    fig.suptitle(suptitle)
    return fig


def heatmap(ax, matrix: np.ndarray, *, title: str, xlabel: str, ylabel: str,
            colorbar_label: str, ticklabels: Sequence[str] | None = None, log: bool = False,
            fontsize: float = 7) -> AxesImage:
    """An annotated matrix (a confusion matrix): each non-zero cell shows its value, a
    labelled colour bar shows the scale (logarithmic with ``log``).

    Args:
        ax: a matplotlib Axes.
        matrix: (R, C) array of counts or values.
        title, xlabel, ylabel: the axes' title and labels.
        colorbar_label: what the colour means (e.g. "test images").
        ticklabels: R == C class names for both axes (default 0 … R − 1).
        log: colour on a log scale (``SymLogNorm``, so zeros stay white).
        fontsize: size of the cell annotations.

    Returns:
        the AxesImage.
    """
    m = np.asarray(matrix)
    vmax = max(float(m.max()), 1.0)
    norm = (mpl.colors.SymLogNorm(1.0, vmin=0.0, vmax=vmax) if log else
            mpl.colors.Normalize(0.0, vmax))
    im = ax.imshow(m, cmap="Blues", norm=norm)
    for (i, j), v in np.ndenumerate(m):
        if v:
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=fontsize,
                    color="white" if norm(v) > 0.6 else "black")
    ticks = range(m.shape[0])
    labels = [str(t) for t in ticks] if ticklabels is None else list(ticklabels)
    ax.set_xticks(range(m.shape[1]), labels if len(labels) == m.shape[1] else None)
    ax.set_yticks(ticks, labels)
    ax.grid(False)
    label(ax, title, xlabel, ylabel)
    colorbar(im, ax, colorbar_label, shrink=0.85)
    return im


# --------------------------------------------------------------------------- audit


def _name(ax) -> str:
    t = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    return f"axes {ax.figure.axes.index(ax)}" + (f" ({t!r})" if t else "")


def _has_title(ax) -> bool:
    return any(ax.get_title(loc).strip() for loc in ("center", "left", "right"))


def _shared_label(ax, which: str) -> bool:
    """The axis has a label, or shares its scale with an axes of the figure that has one."""
    get = (lambda a: a.get_xlabel()) if which == "x" else (lambda a: a.get_ylabel())
    if get(ax).strip():
        return True
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any(get(a).strip() for a in group.get_siblings(ax) if a is not ax)


def _series_labels(ax) -> list[str]:
    items = list(ax.lines) + list(ax.collections) + list(ax.patches) + list(ax.containers)
    return [lab for lab in (a.get_label() for a in items) if lab and not lab.startswith("_")]


def _mappables(ax) -> list:
    """The artists of ``ax`` whose colour encodes a value through a colour map."""
    found = []
    for im in ax.images:
        arr = im.get_array()
        if im.get_gid() == PICTURE or (arr is not None and np.ndim(arr) == 3):
            continue                      # a picture, or RGB(A): colour is the image itself
        found.append(im)
    for c in ax.collections:
        if isinstance(c, ContourSet):
            if c.colors is None:          # colours from a colour map, not named classes
                found.append(c)
        elif isinstance(c, Collection) and c.get_array() is not None \
                and c.get_gid() != PICTURE:
            found.append(c)               # pcolormesh, scatter(c=values)
    return found


def _explained(m, bars: list) -> bool:
    """``m`` has a colour bar, or shares the colour map and range of one that has."""
    if getattr(m, "colorbar", None) is not None:
        return True
    return any(b.mappable.get_cmap().name == m.get_cmap().name
               and np.isclose(b.mappable.norm.vmin, m.norm.vmin)
               and np.isclose(b.mappable.norm.vmax, m.norm.vmax) for b in bars)


def audit(fig) -> list[str]:
    """What ``fig`` lacks to read at a glance; an empty list when nothing.

    The checks: every axes that shows data has a title; a thumbnail (an image with its axes
    hidden) has one or the figure has a suptitle; data axes have x and y labels (or share the
    axis with one that has); an axes with more than one labelled series has a legend (its own
    or the figure's); an image, mesh or filled contour coloured through a colour map has a
    labelled colour bar (its own, or one it shares the colour map and range with), unless
    it is marked a picture (:func:`picture`) or is RGB; no axes is left empty.

    Args:
        fig: a matplotlib Figure, fully drawn.

    Returns:
        one line per defect, naming the axes (index in ``fig.axes`` and title).
    """
    problems: list[str] = []
    has_suptitle = fig.get_suptitle().strip() != ""
    fig_legend = bool(fig.legends)
    bars = [a._colorbar for a in fig.axes if getattr(a, "_colorbar", None) is not None]
    for bar in bars:
        lab = bar.ax.get_ylabel() if bar.orientation == "vertical" else bar.ax.get_xlabel()
        if not lab.strip():
            problems.append(f"colour bar of {bar.mappable.axes and _name(bar.mappable.axes)}"
                            " has no label (what the colour means, with its unit)")
    for ax in fig.axes:
        if getattr(ax, "_colorbar", None) is not None or not ax.get_visible():
            continue
        drawn = (ax.lines or ax.images or ax.collections or ax.patches or ax.texts
                 or ax.artists or ax.tables)
        if not drawn:
            problems.append(f"{_name(ax)} is empty (remove it)")
            continue
        thumbnail = not ax.axison and bool(ax.images)
        if thumbnail:
            if not (_has_title(ax) or has_suptitle):
                problems.append(f"{_name(ax)}: thumbnail without a title, and the figure has "
                                "no suptitle")
        elif not _has_title(ax):
            problems.append(f"{_name(ax)} has no title")
        if ax.axison and ax.name != "polar":
            for which in ("x", "y"):
                if not _shared_label(ax, which):
                    problems.append(f"{_name(ax)}: the {which} axis has no label")
        labels = _series_labels(ax)
        if len(set(labels)) > 1 and ax.get_legend() is None and not fig_legend:
            problems.append(f"{_name(ax)}: {len(set(labels))} labelled series "
                            f"({', '.join(sorted(set(labels))[:4])}…) but no legend")
        for m in _mappables(ax):
            if not _explained(m, bars):
                problems.append(f"{_name(ax)}: a {type(m).__name__} coloured by value has no "
                                "colour bar")
    return problems
