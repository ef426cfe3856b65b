"""The closed sets of values some flags accept, defined once.

The option parser rejects anything else at parse time (one argparse line naming the flag and these values), and
the code that acts on a value (network factory, norm selection, GAN loss, flow backends, dataset selection)
should import the same tuple instead of spelling it again, so that the two can never drift apart. This module
imports nothing from ``models/`` and no torch, so reading the flags stays cheap and free of import cycles.
"""
from __future__ import annotations

# --netG: the sequential generator at the coarsest spatial scale. The reference's define_G also knew single-frame
# pix2pixHD names ('global', 'local', ...), but its vid2vid model only ever built 'composite' (finer scales are
# always its local variant), and models/networks/factory.py builds nothing else.
NETG_CHOICES: tuple[str, ...] = ("composite",)

# --norm: normalisation layer of every generator and discriminator (models/networks/blocks.py get_norm_layer).
NORM_TYPES: tuple[str, ...] = ("batch", "instance")

# --gan_mode: adversarial objective (models/networks/losses.py GANLoss).
GAN_MODES: tuple[str, ...] = ("ls", "original", "hinge")

# --flow_net: optical-flow backend of the flow losses and temporal discriminators (models/flow.py).
FLOW_NETS: tuple[str, ...] = ("flownet2", "raft", "dis")

# --model: vid2vid (the reference's one model), or the per-frame pix2pixHD baseline that --use_single_G loads
# (models/single_frame_model.py).
MODELS: tuple[str, ...] = ("vid2vid", "single_frame")

# --resize_or_crop is matched by substring, as in the reference (so 'ScaleHeight_and_scaledCrop' is a valid
# "scaledCrop only" mode); these are the substrings that select a scaling and a cropping step.
SCALE_KEYWORDS: tuple[str, ...] = ("resize", "scaleWidth", "scaleHeight", "randomScaleWidth", "randomScaleHeight")
CROP_KEYWORDS: tuple[str, ...] = ("crop", "scaledCrop")

__all__ = ["CROP_KEYWORDS", "FLOW_NETS", "GAN_MODES", "MODELS", "NETG_CHOICES", "NORM_TYPES",
           "SCALE_KEYWORDS"]
