# The recipe of the shipped base checkpoint (checkpoints/dehazeformer-t_synhaze_clear-pristine):
# DehazeFormer-t on the 90 clear photos of ../shared/data/clear_pristine (sorted; 01-10 held out
# for validation, 11-90 for training) with online synthetic haze, 128x128 crops, batch 8,
# 1,500 iterations of AdamW with cosine decay (CPU-sized).
#   python tools/train.py configs/dehazeformer/dehazeformer-t_synhaze_clear-pristine.py
_base_ = './dehazeformer-t_synhaze.py'
experiment_name = 'dehazeformer-t_synhaze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
data_root = '../shared/data/clear_pristine'
crop_size = 128
max_iters = 1500

haze = dict(
    type='SyntheticHaze',
    beta_range=(0.6, 2.0),
    airlight_range=(0.7, 1.0),
    airlight_tint=0.05,
    depth_modes=('homogeneous', 'gradient', 'nonhomogeneous', 'mixed'))
train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='RandomResizedCrop', keys=['gt'], crop_size=(crop_size, crop_size),
         scale=(0.05, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    haze,
    dict(type='PackInputs', keys=['img']),
]
val_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='Crop', keys=['gt'], crop_size=(256, 256), random_crop=False),
    dict(haze, seed=2026),
    dict(type='PackInputs', keys=['img']),
]
train_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(data_root=data_root, indices=list(range(10, 90)), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, indices=list(range(10)), pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=500)
param_scheduler = dict(T_max=max_iters)
default_hooks = dict(checkpoint=dict(interval=500), logger=dict(interval=25))
