# The shipped base dehazer: checkpoints/dcp-dehazeformer-t-conv_synhaze_clear-pristine/, the model
# of ../_base_/models/dcp-dehazeformer-t-conv.py (DehazeFormer-t-conv refining a haze-gated dark
# channel prior) trained on clear photos hazed on the fly: scene-depth, homogeneous and
# non-homogeneous haze of natural airlight colours, metered as a camera's display would meter it,
# sensor noise and JPEG, 15 % of the crops left clear.
#
# Dehaze with it (the tools use it by default):
#   python tools/dehaze.py PHOTOS --out OUT
# Test it on a folder of hazy photos without references:
#   configs/dehazeformer/dcp-dehazeformer-t-conv_test-unlabeled.py.
# Training this config fine-tunes the shipped weights (load_from) for 150 iterations on your clear
# photos (data_root: clear_pristine 11-90 for training, 01-10 for validation, as the shipped
# run), behind the shipped inference settings; the stages that made the weights from
# DehazeFormer-t (synthetic-haze pretraining, the prior, the gate, the detail layer, the floor) and
# what each measured: docs/how_the_base_was_made.md.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dcp-dehazeformer-t-conv.py',
    '../_base_/datasets/synhaze_clear_folder.py',
    '../_base_/schedules/adamw_cosine_iters.py',
]
experiment_name = 'dcp-dehazeformer-t-conv_synhaze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'mmbilalora://dcp-dehazeformer-t-conv_synhaze_clear-pristine'
data_root = '../shared/data/clear_pristine'
crop_size = 224
max_iters = 150

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
    exposure_compensation=(0.6, 1.0),
    exposure_metering='display')
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
train_dataloader = dict(
    batch_size=4,
    dataset=dict(data_root=data_root, indices=list(range(10, 90)), pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(data_root=data_root, indices=list(range(10)), pipeline=val_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=50)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = dict(T_max=max_iters, eta_min=1e-6)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=50, max_keep_ckpts=3, save_best='PSNR', rule='greater'))
