"""The haze-to-clear prompt pair of the paper: the H2C loss's and the compact CLIP's default."""

HAZY_PROMPT = 'a photo with haze'
CLEAR_PROMPT = 'a clear photo'
