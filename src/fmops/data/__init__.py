"""Datasets: fmeval-compatible DataConfig, format readers, fmeval sampling."""

from fmops.data.config import DataConfig
from fmops.data.loading import Dataset, load_dataset

__all__ = ["DataConfig", "Dataset", "load_dataset"]
