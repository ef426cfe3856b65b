"""vid2vid networks: generators, discriminators, losses and helpers, one concern per module."""

from .blocks import ResnetBlock, get_norm_layer, init_weights
from .discriminator import MultiscaleDiscriminator
from .factory import build_discriminators, build_generator, build_networks, build_single_frame_networks, label_channels
from .generator import CompositeGenerator
from .local_generator import CompositeLocalGenerator
from .losses import GANLoss, feature_matching_loss, masked_l1_loss
from .single_frame import FeatureEncoder, GlobalGenerator, GlobalWithZ, LocalEnhancer
from .warp import warp

__all__ = [
    "CompositeGenerator",
    "CompositeLocalGenerator",
    "FeatureEncoder",
    "GANLoss",
    "GlobalGenerator",
    "GlobalWithZ",
    "LocalEnhancer",
    "MultiscaleDiscriminator",
    "ResnetBlock",
    "build_discriminators",
    "build_generator",
    "build_networks",
    "build_single_frame_networks",
    "feature_matching_loss",
    "get_norm_layer",
    "init_weights",
    "label_channels",
    "masked_l1_loss",
    "warp",
]
