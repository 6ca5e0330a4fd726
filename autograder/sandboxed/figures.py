"""Figures a cell drew, as small PNGs for the graded notebook. Matplotlib is only touched when the
notebook imported it; what the notebook did to it (a huge figure, a patched savefig) costs at most
the capture's time limit and shrinks or drops the image, never the run."""
from __future__ import annotations

import base64
import io
import sys

from ..protocol.messages import MAX_FIGURE_BYTES as MAX_PNG_BYTES
from ..protocol.messages import MAX_FIGURES
from ..protocol.notes import FIGURE_TOO_LARGE, FIGURES_DROPPED, note

_LARGEST_SIDE = 1200  # pixels: a 100-inch figure is drawn small, not as a gigapixel image
_DPI = 72


def capture() -> tuple[list[str], list[dict]]:
    """The open figures as base64 PNGs (at most MAX_FIGURES, each at most MAX_PNG_BYTES), and notes
    for what was not kept."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return [], []
    images: list[str] = []
    notes: list[dict] = []
    numbers = list(plt.get_fignums())
    for number in numbers[:MAX_FIGURES]:
        figure = plt.figure(number)
        width, height = figure.get_size_inches()
        dpi = min(_DPI, _LARGEST_SIDE / max(width, height, 1e-3))
        png = None
        for scale in (1.0, 0.5, 0.25):
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=dpi * scale)
            if buffer.tell() <= MAX_PNG_BYTES:
                png = buffer.getvalue()
                break
        if png is None:
            notes.append(note(FIGURE_TOO_LARGE, number=int(number)))
            continue
        images.append(base64.b64encode(png).decode("ascii"))
    if len(numbers) > MAX_FIGURES:
        notes.append(note(FIGURES_DROPPED, count=len(numbers) - MAX_FIGURES))
    return images, notes


def close_all() -> None:
    """Close the cell's figures once they are kept and probed, as Jupyter's inline backend does."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
