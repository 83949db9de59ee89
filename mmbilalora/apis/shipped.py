"""Paths of the weights shipped in the repository's ``checkpoints/`` folder.

``SHIPPED_BASE_CONFIG`` / ``SHIPPED_BASE_CHECKPOINT``: the base dehazer (DehazeFormer-t-conv,
``load_dehazer(SHIPPED_BASE_CONFIG, SHIPPED_BASE_CHECKPOINT)``): stage 10's settings over stage
8's weights (the config names the prior's and the exposure floor's inference settings, the
checkpoint the training run it came from); ``COMPACT_CLIP``: the compact haze-aware CLIP folder
(``pretrained='local-dir:' + COMPACT_CLIP``).
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED_BASE_SETTINGS = ('dehazeformer-t-conv-gf-dcp-gated-snr-r8-floor_'
                         'display-metered-haze_clear-pristine')
SHIPPED_BASE_WEIGHTS = 'dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine'
SHIPPED_BASE_CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', f'{SHIPPED_BASE_SETTINGS}.py')
SHIPPED_BASE_CHECKPOINT = osp.join(ROOT, 'checkpoints', f'{SHIPPED_BASE_WEIGHTS}.pth')
COMPACT_CLIP = osp.join(ROOT, 'checkpoints', 'haze_clip_tiny')
