"""Dataset modes by name: ``--dataset_mode NAME`` picks the class registered under NAME.

Built in: ``folders`` (``<phase>_A`` / ``_B`` / ``_inst`` folders, also under the reference's spellings
``temporal`` and ``test``). A new mode is one module with a `DatasetMode` subclass decorated with
``@register_mode("name")``, imported here (see `template.py`).
"""

from __future__ import annotations

import argparse

from ..image_folder import DataError
from .base import DatasetMode, Frame

MODES: dict[str, type[DatasetMode]] = {}
PLANNED: tuple[str, ...] = ()  # accepted by the parser (the reference's scripts use them), not built yet


def register_mode(name: str, aliases: tuple[str, ...] = ()):  # noqa: ANN201 - a class decorator
    """Register a `DatasetMode` subclass under ``name`` (and ``aliases``)."""

    def decorate(cls: type[DatasetMode]) -> type[DatasetMode]:
        for key in (name, *aliases):
            if key in MODES and MODES[key] is not cls:
                raise ValueError(f"dataset mode {key!r} is registered twice ({MODES[key].__name__}, {cls.__name__})")
            MODES[key] = cls
        cls.name = name
        return cls

    return decorate


def mode_names() -> list[str]:
    return sorted(set(MODES) | set(PLANNED))


def get_mode(name: str) -> type[DatasetMode]:
    if name in MODES:
        return MODES[name]
    if name in PLANNED:
        raise NotImplementedError(f"--dataset_mode {name} is not implemented yet (see ROADMAP: face and pose); "
                                  "use --dataset_mode temporal with label or image folders")
    raise DataError(f"unknown --dataset_mode {name!r}; available: {', '.join(mode_names())}")


def build_mode(opt: argparse.Namespace, need_real_frames: bool) -> DatasetMode:
    return get_mode(opt.dataset_mode)(opt, need_real_frames)


from . import face, folders, pose  # noqa: E402, F401 - registers the built-in modes

__all__ = ["MODES", "DatasetMode", "Frame", "build_mode", "get_mode", "mode_names", "register_mode"]
