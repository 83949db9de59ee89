# Evaluation on a folder of real hazy photos without references (RTTS layout, recursive):
# no-reference metrics of output and input, and the artefacts a person would see (brightness
# ratio output / input, colour cast, blockiness at window seams). FADE needs the LIVE release's statistics files:
# set MMBILALORA_FADE_DIR (or fade_dir=... on the metric).
data_root = 'data/RTTS'
val_images = 50

test_pipeline = [
    dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb'),
    dict(type='PackInputs', keys=['img'], meta_keys=['key']),
]
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img', test_mode=True,
                 indices=val_images, pipeline=test_pipeline))
# A test run leaves out unreadable files and lists them (tools/test.py exits non-zero then).
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], indices=None,
                                                    skip_unreadable=True))

val_evaluator = [
    dict(type='NIQENoRef', score_input=True),
    dict(type='BrightnessRatio'),
    dict(type='ColourCast', score_input=True),
]
test_evaluator = [
    dict(type='FADE', score_input=True),
    dict(type='NIQENoRef', score_input=True),
    dict(type='Entropy', score_input=True),
    dict(type='BrightnessRatio'),
    dict(type='ColourCast', score_input=True),
    dict(type='Blockiness', score_input=True),
]
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
