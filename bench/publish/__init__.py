"""`bench publish`: the saved reports as a static site (overview, latency, quality, frontier, comparison).

Built on the typed `Report` (`bench.schema.load`) and the gate's and history's logic, never on the
JSON layout, so that it reads whatever the schema reads. `site.publish` is the entry point; one module per
concept (`inputs`, `machine`, `trend`, `figures`, `html`, `static`) and one per page (`pages/`).
"""

from bench.publish.site import Published, publish

__all__ = ["Published", "publish"]
