"""FlowNet2 (Ilg et al. 2017) in plain PyTorch, loadable from NVIDIA's ``FlowNet2_checkpoint.pth.tar``."""
from .flownet2 import FlowNet2
from .flownet_c import FlowNetC
from .flownet_fusion import FlowNetFusion
from .flownet_s import FlowNetS
from .flownet_sd import FlowNetSD
from .ops import channelnorm, correlation, resample2d

__all__ = [
    "FlowNet2", "FlowNetC", "FlowNetFusion", "FlowNetS", "FlowNetSD", "channelnorm", "correlation", "resample2d",
]
