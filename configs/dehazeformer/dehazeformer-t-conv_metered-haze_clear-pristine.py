# The shipped base checkpoint (checkpoints/dehazeformer-t-conv_metered-haze_clear-pristine.pth),
# stage 4 of four: continues stage 3 (dehazeformer-t-conv_exposed-haze_clear-pristine.py) with a
# camera that meters every hazy capture and with dimmer haze. A camera's auto-exposure brings a
# hazy scene to about the mean brightness a clear photo of it would have, so here every hazy
# input is scaled in linear light by (mean(clear) / mean(hazy)) ** g with g uniform in 0.7-1.0
# (stage 3: 0.3-1.0, stage 2: 0-0.6; haze-free samples keep gain 1, the reference stays the
# clear photo), and the airlight level starts at 0.45 instead of 0.6 (overcast dusk haze, as in
# RTTS's city photos, is mid-grey, not bright). 450 iterations of AdamW, lr 1e-4 with cosine
# decay to 1e-6.
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_pretrain.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_clear-pristine.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_exposed-haze_clear-pristine.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_metered-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv_exposed-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv_metered-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/dehazeformer-t-conv_exposed-haze_clear-pristine/iter_450.pth'
crop_size = 224

haze = dict(
    type='SyntheticHaze',
    beta_range=(0.15, 2.3),
    beta_sampling='log_uniform',
    airlight_range=(0.45, 0.95),
    airlight_colour='natural',
    airlight_tint=0.12,
    depth_modes=('scene', 'scene', 'scene', 'homogeneous', 'nonhomogeneous', 'mixed'),
    clear_prob=0.15,
    linear_light_prob=0.5,
    exposure_compensation=(0.7, 1.0))
noise = dict(type='SensorNoiseJPEG', key='img', noise_std=(0.0, 0.008), jpeg_quality=(60, 95),
             prob=0.5)
train_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='RandomResizedCrop', keys=['gt'], crop_size=(crop_size, crop_size),
         scale=(0.15, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    haze,
    noise,
    dict(type='PackInputs', keys=['img']),
]
val_pipeline = [
    dict(type='LoadImageFromFileChecked', key='gt', channel_order='rgb'),
    dict(type='Crop', keys=['gt'], crop_size=(256, 256), random_crop=False),
    dict(haze, seed=2026),
    dict(noise, seed=2026),
    dict(type='PackInputs', keys=['img']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
