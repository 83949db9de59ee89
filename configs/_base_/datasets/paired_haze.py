# Supervised data from paired hazy/clear folders (RESIDE ITS/OTS/SOTS, Haze4K, O-HAZE layouts):
# <root>/hazy/*.png and <root>/clear/*.png, paired by name (see PairedHazeDataset).
train_root = 'data/RESIDE/ITS'
val_root = 'data/RESIDE/SOTS/indoor'
crop_size = 256

train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='SetValues', dictionary=dict(scale=1)),
    dict(type='PairedRandomCrop', gt_patch_size=crop_size),
    dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='PackInputs', keys=['img']),
]

val_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='PackInputs', keys=['img']),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='PairedHazeDataset',
        data_root=train_root,
        data_prefix=dict(img='hazy', gt='clear'),
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='PairedHazeDataset',
        data_root=val_root,
        data_prefix=dict(img='hazy', gt='clear'),
        test_mode=True,
        pipeline=val_pipeline))
test_dataloader = val_dataloader

val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]
test_evaluator = val_evaluator
