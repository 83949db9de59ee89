# Unlabeled real hazy photos (RTTS layout: one folder of images, searched recursively).
# Training: BilevelSplitDataset splits the folder once (split_seed) into a lower half (LoRA
# weights) and an upper half (gates) and yields one sample of each per index; the split is
# written to <work_dir>/data_split.json. Validation/test: the same folder (first `val_images`
# images), scored by no-reference metrics on output and input.
data_root = 'data/RTTS'
crop_size = 224
val_images = 50

train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='RandomSquareCrop', keys=['img'], size=crop_size),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img'], transpose_ratio=0.5),
    dict(type='PackInputs', keys=['img']),
]
test_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='PackInputs', keys=['img']),
]

train_dataloader = dict(
    batch_size=24,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='BilevelSplitDataset',
        upper_fraction=0.5,
        split_seed=0,
        dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img',
                     pipeline=train_pipeline)))

val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img', test_mode=True,
                 indices=val_images, pipeline=test_pipeline))
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], indices=None))

# FADE needs the LIVE release's statistics files: set MMBILALORA_FADE_DIR or fade_dir=...
val_evaluator = [dict(type='NIQENoRef', score_input=True), dict(type='Entropy', score_input=True)]
test_evaluator = [
    dict(type='FADE', score_input=True),
    dict(type='NIQENoRef', score_input=True),
    dict(type='Entropy', score_input=True),
]
