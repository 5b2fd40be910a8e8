"""DAFT: distribution-aligned fine-tuning of heterogeneous dual encoders (Leonhardt et al., arXiv 2211.04942)."""

from daft.core.errors import UserError

__all__ = ["UserError"]
__version__ = "0.1.0"
