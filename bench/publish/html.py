"""The HTML of the site: a page around a body, sortable tables, escaped text. Pages are plain files that
open from the file system: the style and the table sorting are files beside them (`static`), as is
plotly.min.js, loaded once by the pages that hold charts."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Td", "esc", "link", "page", "table"]


def esc(text: object) -> str:
    """Text as HTML."""
    return html.escape(str(text), quote=True)


def link(href: str, text: object) -> str:
    """An <a> to `href` (relative to the page)."""
    return f'<a href="{esc(href)}">{esc(text)}</a>'


@dataclass(frozen=True)
class Td:
    """A table cell: its content (escaped unless `markup`), the value it sorts by, and a CSS class."""

    text: object
    sort: float | str | None = None
    cls: str = ""
    markup: bool = False

    def render(self) -> str:
        content = str(self.text) if self.markup else esc(self.text)
        sort = "" if self.sort is None else f' data-sort="{esc(self.sort)}"'
        cls = f' class="{esc(self.cls)}"' if self.cls else ""
        return f"<td{sort}{cls}>{content}</td>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Td | str]], *, caption: str = "", table_id: str = ""
) -> str:
    """A table whose columns sort when their header is clicked (by `Td.sort`, else the text)."""
    head = "".join(f'<th scope="col" tabindex="0">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join((c if isinstance(c, Td) else Td(c)).render() for c in row) + "</tr>\n"
        for row in rows
    )
    ident = f' id="{esc(table_id)}"' if table_id else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table class="sortable"{ident}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}</tbody></table></div>"
    )


def page(
    title: str, body: str, *, nav: Sequence[tuple[str, str]], charts: bool = False, footer: str = ""
) -> str:
    """A whole page: `nav` is (file, label) of the site's pages; `charts` loads plotly.min.js."""
    links = " ".join(link(href, label) for href, label in nav)
    script = '<script src="plotly.min.js" charset="utf-8"></script>\n' if charts else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<link rel="stylesheet" href="site.css">
{script}<script src="site.js" defer></script>
</head>
<body>
<nav>{links}</nav>
<main>
<h1>{esc(title)}</h1>
{body}
</main>
<footer>daft-bench {esc(footer)}</footer>
</body>
</html>
"""
