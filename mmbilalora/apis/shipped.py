"""Paths of the weights shipped in the repository's ``checkpoints/`` folder.

``SHIPPED_BASE_CONFIG`` / ``SHIPPED_BASE_CHECKPOINT``: the base dehazer (DehazeFormer-t-conv,
``load_dehazer(SHIPPED_BASE_CONFIG, SHIPPED_BASE_CHECKPOINT)``); ``COMPACT_CLIP``: the compact
haze-aware CLIP folder (``pretrained='local-dir:' + COMPACT_CLIP``).
"""
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED_BASE_NAME = 'dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine'
SHIPPED_BASE_CONFIG = osp.join(ROOT, 'configs', 'dehazeformer', f'{SHIPPED_BASE_NAME}.py')
SHIPPED_BASE_CHECKPOINT = osp.join(ROOT, 'checkpoints', f'{SHIPPED_BASE_NAME}.pth')
COMPACT_CLIP = osp.join(ROOT, 'checkpoints', 'haze_clip_tiny')
