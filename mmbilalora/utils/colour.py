"""Colour constants shared by the models and the measures."""

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma of R, G, B, on sRGB values
