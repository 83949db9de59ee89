# The authors' deployed DEA-Net (YanZhang-zy/BiLaLoRA, `Backbonecs`: the official deployed DEA-Net)
# in their value convention: inputs CLIP-normalised per channel, outputs RGB in [0, 1]
# (DehazeDataPreprocessor). Their Base.pth / LoRA.pth load after
#   python tools/convert_authors_checkpoint.py --base Base.pth --lora LoRA.pth --out-dir DIR
# with --checkpoint DIR/base.pth [--adapter DIR/adapter.pth] in tools/dehaze.py
# (--resize-multiple 16 --tile 0 reproduces their test script) or `tools/test.py CONFIG
# DIR/base.pth` (test_cfg.resize_multiple=16 applies the same sizing there).
_base_ = [
    '../_base_/unlabeled_runtime.py',
    '../_base_/datasets/unlabeled_hazy_test.py',
]
experiment_name = 'dea-net_authors'
work_dir = f'./work_dirs/{experiment_name}'

# 255 * the CLIP mean / std (their transforms: ToTensor, then Normalize with CLIP's values).
authors_data_preprocessor = dict(
    type='DehazeDataPreprocessor',
    mean=[122.7709383, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.32316305],
    output_mean=[0., 0., 0.],
    output_std=[255., 255., 255.])
model = dict(
    type='DehazeEditModel',
    generator=dict(type='DEANet', base_dim=32, deploy=True),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(),
    test_cfg=dict(resize_multiple=16),
    data_preprocessor=authors_data_preprocessor)
load_from = None  # DIR/base.pth from tools/convert_authors_checkpoint.py
