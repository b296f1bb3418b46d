"""What a run records about where it came from: its data files, the machine, the package versions.

Written to the experiment store with each run so that two runs can be compared (and a surprising one
explained) without the folder or machine that made them.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import fmops
from fmops.customization._data import TrainingData


def data_entry(data: TrainingData, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "path": data.path,
        "sha256": data.sha256,
        "format": data.format,
        "records": len(data.records),
        "truncated": data.truncated,
    }


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    try:
        import torch

        info["threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpus"] = torch.cuda.device_count()
    except ImportError:
        pass
    return info


def versions() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, Any] = {"fmops": fmops.__version__, "python": platform.python_version()}
    for package in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions
