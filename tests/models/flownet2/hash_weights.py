"""Regenerates the deterministic FlowNet2 'hash weights' of flownet2_hashweights.pt (README §3.3).

Vectorised in numpy: uint32 arithmetic wraps modulo 2**32 exactly as the formula requires, so the hash needs
no masking; the final scaling is done in float64 and rounded to float32 once.
"""
from __future__ import annotations

import math
import zlib

import numpy as np
import torch

GOLDEN = np.uint32(0x9E3779B1)
MIX = np.uint32(0x45D9F3B)


def hash_tensor(key: str, shape: list[int] | tuple[int, ...]) -> torch.Tensor:
    """float32 tensor of ``shape`` for the state_dict entry ``key``."""
    count = math.prod(shape)
    x = np.arange(count, dtype=np.uint32)
    x *= GOLDEN
    x += np.uint32(zlib.crc32(key.encode("utf-8")))
    x ^= x >> np.uint32(16)
    x *= MIX
    x ^= x >> np.uint32(16)
    x *= MIX
    x ^= x >> np.uint32(16)
    if len(shape) >= 2:
        receptive = math.prod(shape[2:])
        bound = math.sqrt(6.0 / (shape[1] * receptive + shape[0] * receptive))
    else:
        bound = 0.01
    # value = (2u - 1) * bound with u = x / 2**32, in float64.
    values = x.astype(np.float64)
    values *= 2.0 * bound / 2.0**32
    values -= bound
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def hash_state_dict(keys_and_shapes: list) -> dict[str, torch.Tensor]:
    """``{key: tensor}`` for ``[[key, shape], ...]`` as stored in ``state_dict_keys_in_order``."""
    return {key: hash_tensor(key, shape) for key, shape in keys_and_shapes}
