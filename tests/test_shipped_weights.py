"""The committed base checkpoint and compact CLIP load through the public paths and work."""
import json
import os.path as osp
import warnings

import numpy as np
import torch

from conftest import ROOT, shared_path

BASE = osp.join(ROOT, 'checkpoints', 'dehazeformer-t_synhaze_clear-pristine.pth')
COMPACT = osp.join(ROOT, 'checkpoints', 'haze_clip_tiny')


def test_base_checkpoint_is_small_loads_and_dehazes_synthetic_haze():
    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.datasets.transforms import SyntheticHaze
    from mmbilalora.utils.image_io import read_rgb
    assert osp.getsize(BASE) < 3_000_000
    meta = torch.load(BASE, weights_only=True)['meta']
    assert meta['val']['PSNR'] > 15
    dehazer = load_dehazer(osp.join(ROOT, 'configs', 'dehazeformer',
                                    'dehazeformer-t_synhaze.py'), BASE)
    clear = read_rgb(shared_path('data', 'clear_pristine', '03.jpg'))[:192, :192]
    hazy = SyntheticHaze(seed=5, depth_modes=('homogeneous', ))(
        dict(gt=clear, gt_path='x'))['img'].round().clip(0, 255).astype(np.uint8)
    out = dehaze_array(dehazer, hazy, tile=None)

    def err(a):
        return np.abs(a.astype(float) - clear.astype(float)).mean()

    assert err(out) < 0.8 * err(hazy)


def test_compact_clip_loads_as_local_dir_and_separates_haze_direction():
    from mmbilalora.models.losses import CLIPHazeClearLoss
    evaluation = json.load(open(osp.join(COMPACT, 'evaluation.json')))
    assert evaluation['synthetic_pairs']['accuracy'] > 0.8
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no "random weights" warning: real trained weights
        loss = CLIPHazeClearLoss(pretrained=f'local-dir:{COMPACT}', input_range=(0, 1))
    assert 'haze_clip_tiny' in loss.weights_source
    assert osp.getsize(osp.join(COMPACT, 'open_clip_model.safetensors')) <= 20 * 2**20
    torch.manual_seed(0)
    clear = torch.rand(1, 3, 64, 64) * 0.8 + 0.1
    hazy = clear * 0.4 + 0.55
    # dehazing (hazy -> clear) follows the text direction better than adding haze
    assert loss(clear, hazy).item() < loss(hazy, clear).item()
