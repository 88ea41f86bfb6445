"""PNG and SVG files with matplotlib (Agg: no display, no browser): one panel per kind,
stacked in one figure, or one file per kind."""

from __future__ import annotations

from pathlib import Path

#: inches of a panel of a kind that does not say (a kind may define ``panel_height(d)``)
PANEL_HEIGHT = 3.6
WIDTH = 10.0


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def write_static(path: Path, panels: list[tuple[object, object]], *, dpi: int = 110) -> None:
    """Draw ``panels`` -- (kind module, its data) pairs -- one above the other into ``path``
    (.png or .svg, by its extension)."""
    plt = _pyplot()
    heights = [float(getattr(mod, "panel_height", lambda _d: PANEL_HEIGHT)(d))
               for mod, d in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    try:
        for (mod, d), ax in zip(panels, axes[:, 0], strict=True):
            mod.draw(d, ax)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
