"""Parameter-free parts that :class:`~mmbilalora.models.editors.PriorRefinedDehazer` composes."""
from .dark_channel_prior import DarkChannelPrior, dark_channel, estimate_airlight
from .exposure_floor import ExposureFloor, lift_curve, lift_strength, mean_luma
from .guided_filter import GuidedFilter, box_mean, fast_guided_filter, guided_filter
from .haze_gate import HazeStrengthGate, dark_median

__all__ = ['DarkChannelPrior', 'ExposureFloor', 'GuidedFilter', 'HazeStrengthGate', 'box_mean',
           'dark_channel', 'dark_median', 'estimate_airlight', 'fast_guided_filter',
           'guided_filter', 'lift_curve', 'lift_strength', 'mean_luma']
