# Supervised pretraining data: a folder of clear photos made hazy on the fly (SyntheticHaze),
# validated on a second folder of clear photos with haze fixed by a seed.
# Images are RGB; the models see them in [-1, 1] (see the generator configs' data_preprocessor).
train_root = 'data/clear/train'
val_root = 'data/clear/val'
crop_size = 256

haze = dict(
    type='SyntheticHaze',
    beta_range=(0.6, 2.0),
    airlight_range=(0.7, 1.0),
    airlight_tint=0.05,
    depth_modes=('homogeneous', 'gradient', 'nonhomogeneous', 'mixed'))

train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(
        type='RandomResizedCrop',
        keys=['gt'],
        crop_size=(crop_size, crop_size),
        scale=(0.25, 1.0),
        ratio=(3 / 4, 4 / 3)),
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    haze,
    dict(type='PackInputs', keys=['img']),
]

val_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='Crop', keys=['gt'], crop_size=(crop_size, crop_size), random_crop=False),
    dict(haze, seed=2026),
    dict(type='PackInputs', keys=['img']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset', data_root=train_root, key='gt', pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ImageFolderDataset', data_root=val_root, key='gt', test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
