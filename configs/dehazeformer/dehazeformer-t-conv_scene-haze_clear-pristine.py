# Stage 2 of the shipped base
# (checkpoints/dehazeformer-t-conv_display-metered-haze_clear-pristine.pth; stages 3-5 follow):
# continues stage 1 (dehazeformer-t-conv_scene-haze_pretrain.py, run
# it first) with the same haze, views and noise plus camera exposure: a real hazy photo is
# exposed for the bright haze, so the scene under it is darker than in a synthetic hazy image
# made from a normally exposed clear photo. Each hazy input is scaled in linear light by
# (mean(clear) / mean(hazy)) ** g, g uniform in 0-0.6 (SyntheticHaze's exposure_compensation;
# haze-free samples are unchanged), while the reference stays the clear photo: the network learns
# to give back the scene's brightness instead of darkening it (stage 1 alone kept 0.72 of the
# input's mean luma on four real hazy photos). 450 iterations of AdamW, lr 1.6e-4 (where stage 1
# stopped) with cosine decay to 1e-6.
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_pretrain.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_clear-pristine.py
#   (then dehazeformer-t-conv_exposed-haze_clear-pristine.py, dehazeformer-t-conv_metered-...)
_base_ = './dehazeformer-t-conv_scene-haze_pretrain.py'
experiment_name = 'dehazeformer-t-conv_scene-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/dehazeformer-t-conv_scene-haze_pretrain/iter_300.pth'
max_iters = 450

# Only the haze step changes; the rest of both pipelines is the base config's (`_base_.NAME`
# reads a variable of the base config).
haze = dict(_base_.haze, exposure_compensation=(0.0, 0.6))
train_pipeline = [haze if step.type == 'SyntheticHaze' else step
                  for step in _base_.train_pipeline]
val_pipeline = [dict(haze, seed=2026) if step.type == 'SyntheticHaze' else step
                for step in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1.6e-4))
train_cfg = dict(max_iters=max_iters, val_interval=150)
param_scheduler = dict(T_max=max_iters, eta_min=1e-6)
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=3))
