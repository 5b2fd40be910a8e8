"""Plotly figures as page fragments: one small shared look, deterministic ids, the data inlined in the page
and plotly.js loaded once beside it (`static.PLOTLY`). Every trace carries the path of the report its points
came from as `customdata[0]`, which `site.js` opens on a click."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import hex_to_rgb, qualitative

from bench.publish.html import esc, link

__all__ = ["DASHES", "band_colour", "chart", "colour", "figure", "line"]

_PALETTE = qualitative.Plotly
DASHES = ("solid", "dash", "dot", "dashdot")  # one per machine in a trend
_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
# A small template rather than plotly's default, which would repeat ~9 kB of styling in every chart.
_TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "colorway": _PALETTE,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "hovermode": "closest",
        "xaxis": {"gridcolor": "#e6e8ee", "linecolor": "#9aa3b2", "zeroline": False},
        "yaxis": {"gridcolor": "#e6e8ee", "linecolor": "#9aa3b2", "zeroline": False},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "font": {"size": 11}},
        "margin": {"l": 60, "r": 16, "t": 28, "b": 20},
    }
)


def colour(i: int) -> str:
    """The i-th colour of the palette."""
    return _PALETTE[i % len(_PALETTE)]


def line(i: int) -> dict[str, str]:
    """The i-th series' line: the palette's colours, then again dashed, so 30+ series stay apart."""
    return {"color": colour(i), "dash": DASHES[i // len(_PALETTE) % len(DASHES)]}


def band_colour(i: int, alpha: float = 0.15) -> str:
    """The i-th colour, translucent (an interval band)."""
    r, g, b = hex_to_rgb(colour(i))
    return f"rgba({r},{g},{b},{alpha})"


def figure(*, x_title: str, y_title: str, x_log: bool = False, y_log: bool = False) -> go.Figure:
    """An empty figure in the site's look (its title is the page's, above it: `chart`)."""
    return go.Figure(
        layout={
            "template": _TEMPLATE,
            "xaxis": {"title": {"text": x_title}, "type": "log" if x_log else None},
            "yaxis": {"title": {"text": y_title}, "type": "log" if y_log else None},
        }
    )


def chart(
    fig: go.Figure, div_id: str, title: str, *, sources: Sequence[str] = (), note: str = "", height: int = 400
) -> str:
    """The figure as a page fragment under its title (HTML, so that plotly's buttons never cover it), with
    the report(s) it came from linked below it."""
    body = pio.to_html(
        fig, include_plotlyjs=False, full_html=False, div_id=div_id, config=_CONFIG, default_height=height
    )
    below = []
    if note:
        below.append(esc(note))
    if len(sources) == 1:
        below.append("from " + link(sources[0], sources[0]))
    elif sources:
        below.append(f"from {len(sources)} reports (click a point to open its report)")
    return (
        f'<div class="chart"><h3>{esc(title)}</h3>{body}<div class="source">{" · ".join(below)}</div></div>'
    )
