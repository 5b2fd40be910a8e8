"""What every PNG plot of a report needs: a headless pyplot, and a figure turned into PNG bytes.

They live in `daft.plots` (training curves need them too, and daft never imports bench).
"""

from daft.plots import png, pyplot

__all__ = ["png", "pyplot"]
