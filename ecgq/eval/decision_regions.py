"""Decision regions of 2-D classifiers as one PNG (matplotlib, Agg backend).

Why: on a 2-D toy problem (``ecgq.data.xor``) the scores say how often a student is right, the
regions say *where* it goes wrong (the finer XOR level missed, one quadrant merged...) and what a
student took over from its teacher under KD. This module only draws: the caller evaluates its
models on :func:`plane_grid` and hands over one class map per panel, so nothing here knows about
models or training.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402


def plane_grid(low: float = -1.0, high: float = 1.0, resolution: int = 121) -> tuple[np.ndarray, tuple]:
    """``(points (resolution**2, 2), extent)``: a square grid over ``[low, high]^2``, row-major
    with the second coordinate as rows, so ``classes.reshape(resolution, resolution)`` is an image
    whose row ``i`` is ``x2 = grid[i]`` (``imshow(..., origin="lower", extent=extent)``)."""
    if resolution < 2 or not high > low:
        raise ValueError(f"need resolution >= 2 and high > low, got {resolution}, [{low}, {high}]")
    axis = np.linspace(low, high, resolution)
    x1, x2 = np.meshgrid(axis, axis)
    return np.stack([x1.ravel(), x2.ravel()], axis=-1).astype(np.float32), (low, high, low, high)


def class_map(logits_or_classes: np.ndarray, resolution: int) -> np.ndarray:
    """The ``(resolution, resolution)`` image of predicted classes from grid logits or classes."""
    values = np.asarray(logits_or_classes)
    classes = values.argmax(axis=-1) if values.ndim == 2 else values
    if classes.size != resolution * resolution:
        raise ValueError(f"{classes.size} predictions for a {resolution} x {resolution} grid")
    return classes.reshape(resolution, resolution).astype(np.int64)


def plot_decision_regions(panels: Sequence[tuple[str, np.ndarray] | None], extent: tuple, path: str,
                          class_names: Sequence[str], points: np.ndarray | None = None,
                          labels: np.ndarray | None = None, ncols: int = 2, title: str = "") -> str:
    """Draw each ``(title, class image)`` panel (None leaves a cell empty), ``ncols`` per row.

    Classes share one discrete colour map across panels (class k has the same colour everywhere);
    ``points`` ``(n, 2)`` with their true ``labels`` are drawn on every panel, so that a region's
    colour can be checked against the data it was trained to fit.
    """
    if not panels:
        raise ValueError("no panel to draw")
    k = len(class_names)
    colours = plt.get_cmap("tab10" if k <= 10 else "tab20")(np.arange(k) % (10 if k <= 10 else 20))
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(k + 1) - 0.5, k)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.1 * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, panel in zip(axes.ravel(), panels):
        if panel is None:
            continue
        name, image = panel
        ax.set_axis_on()
        ax.imshow(image, origin="lower", extent=extent, cmap=cmap, norm=norm, interpolation="nearest",
                  alpha=0.8, aspect="equal")
        if points is not None and labels is not None:
            ax.scatter(points[:, 0], points[:, 1], c=np.asarray(labels), cmap=cmap, norm=norm, s=5,
                       edgecolors="k", linewidths=0.2)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    handles = [plt.Line2D([], [], marker="s", ls="", color=colours[i], label=class_names[i]) for i in range(k)]
    fig.legend(handles=handles, loc="lower center", ncol=min(k, 8), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97 if title else 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
