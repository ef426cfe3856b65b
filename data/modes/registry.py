"""The registry of dataset modes: ``--dataset_mode NAME`` picks the class registered under NAME."""

from __future__ import annotations

import argparse

from ..image_folder import DataError
from .base import DatasetMode

MODES: dict[str, type[DatasetMode]] = {}


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
    return sorted(MODES)


def get_mode(name: str) -> type[DatasetMode]:
    if name in MODES:
        return MODES[name]
    raise DataError(f"unknown --dataset_mode {name!r}; available: {', '.join(mode_names())}")


def build_mode(opt: argparse.Namespace, need_real_frames: bool) -> DatasetMode:
    return get_mode(opt.dataset_mode)(opt, need_real_frames)
