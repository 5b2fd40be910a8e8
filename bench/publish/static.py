"""The files beside the pages: the style, the table sorting, and plotly.min.js from plotly's wheel (once
for the whole site, not inlined into every page: a page stays small, and nothing is fetched)."""

from __future__ import annotations

from importlib import resources

from plotly.offline import get_plotlyjs

__all__ = ["PLOTLY", "files"]

PLOTLY = "plotly.min.js"
_OWN = ("site.css", "site.js")


def files() -> dict[str, bytes]:
    """file name -> content of every static file of a site."""
    folder = resources.files("bench.publish") / "static"
    out = {name: (folder / name).read_bytes() for name in _OWN}
    out[PLOTLY] = get_plotlyjs().encode("utf-8")
    return out
