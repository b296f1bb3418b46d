"""fmops: operationalize foundation models on any provider."""

__version__ = "0.1.0"
