"""Dataset modes by name: ``--dataset_mode NAME`` picks the class registered under NAME (`registry.py`).

Built in: ``folders`` (``<phase>_A`` / ``_B`` / ``_inst`` folders, also under the reference's spellings
``temporal`` and ``test``), ``face`` and ``pose``. A new mode is one module with a `DatasetMode` subclass
decorated with ``@register_mode("name")``, imported here (see `template.py`).
"""

from __future__ import annotations

from . import face, folders, pose  # noqa: F401 - registers the built-in modes
from .base import DatasetMode, Frame
from .registry import MODES, build_mode, get_mode, mode_names, register_mode

__all__ = ["MODES", "DatasetMode", "Frame", "build_mode", "get_mode", "mode_names", "register_mode"]
