"""Image grids a reader understands without the code: a title, column headers, row labels, a caption."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from handflow.storage.atomic import atomic_path


def save_image_grid(
    out: Path,
    tiles: list[list[np.ndarray]],
    title: str,
    col_labels: list[str],
    row_labels: list[str] | None = None,
    caption: str = "",
    tile_inches: float = 1.9,
) -> None:
    """`tiles[r][c]` (RGB uint8) as a labelled grid, written atomically as PNG."""
    n_rows, n_cols = len(tiles), len(tiles[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(tile_inches * n_cols + 0.6, tile_inches * n_rows + 0.9), dpi=110, squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.imshow(tiles[r][c])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_labels[c], fontsize=8)
            if c == 0 and row_labels:
                ax.set_ylabel(row_labels[r], fontsize=8)
    fig.suptitle(title, fontsize=10)
    if caption:
        fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.04 if caption else 0, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
