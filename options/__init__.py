"""Option parsing: the reference vid2vid's flags, validated at parse time."""
from .base_options import OptionsError
from .test_options import TestOptions
from .train_options import TrainOptions

__all__ = ["OptionsError", "TestOptions", "TrainOptions"]
