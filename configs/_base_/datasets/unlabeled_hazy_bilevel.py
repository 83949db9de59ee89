# Unlabeled real hazy photos for BiLaLoRA training (RTTS layout: one folder of images, searched
# recursively). BilevelSplitDataset splits the folder once (split_seed) into a lower half (LoRA
# weights) and an upper half (gates); BilevelPairSampler draws each iteration's lower and upper
# samples from the two halves independently (the authors' two shuffled loaders); the split is
# written to <work_dir>/data_split.json. Crops smaller than crop_size are upscaled bilinearly (as
# the authors' loader). Validation/test: see unlabeled_hazy_test.py.
_base_ = './unlabeled_hazy_test.py'
crop_size = 224

train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='RandomSquareCrop', keys=['img'], size=crop_size),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='horizontal'),
    dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='vertical'),
    dict(type='RandomTransposeHW', keys=['img'], transpose_ratio=0.5),
    dict(type='PackInputs', keys=['img']),
]
train_dataloader = dict(
    batch_size=24,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='BilevelPairSampler', shuffle=True),
    dataset=dict(
        type='BilevelSplitDataset',
        upper_fraction=0.5,
        split_seed=0,
        dataset=dict(type='ImageFolderDataset', data_root='data/RTTS', key='img',
                     pipeline=train_pipeline)))
