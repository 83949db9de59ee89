# Stage 3 of the shipped base
# (checkpoints/dehazeformer-t-conv_display-metered-haze_clear-pristine.pth), continues stage 2
# (dehazeformer-t-conv_scene-haze_clear-pristine.py, after stage 1
# dehazeformer-t-conv_scene-haze_pretrain.py) with stronger camera exposure. A camera meters the
# whole hazy scene, so a real hazy photo is about as bright on average as a clear photo of the
# same scene would be; stage 2's exposure strengths g in 0-0.6 left the network keeping 0.77 of
# a real hazy photo's mean luma (dark dusk traffic and forest at 0.48-0.53). Here g is uniform in
# 0.3-1.0 (1.0: the hazy capture has the clear photo's mean linear light), haze-free samples stay
# unchanged (their gain is 1), the reference stays the clear photo. The airlight may be a little
# warmer or cooler (tint 0.12: yellow dust, blue mist). 450 iterations of AdamW, lr 1e-4 with
# cosine decay to 1e-6.
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_pretrain.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_clear-pristine.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_exposed-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv_scene-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv_exposed-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/dehazeformer-t-conv_scene-haze_clear-pristine/iter_450.pth'
max_iters = 450

# Only the haze step changes; the rest of both pipelines is the base config's (`_base_.NAME`
# reads a variable of the base config).
haze = dict(_base_.haze, airlight_tint=0.12, exposure_compensation=(0.3, 1.0))
train_pipeline = [haze if step.type == 'SyntheticHaze' else step
                  for step in _base_.train_pipeline]
val_pipeline = [dict(haze, seed=2026) if step.type == 'SyntheticHaze' else step
                for step in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=1e-4))
train_cfg = dict(max_iters=max_iters, val_interval=150)
param_scheduler = dict(T_max=max_iters, eta_min=1e-6)
default_hooks = dict(checkpoint=dict(interval=150, max_keep_ckpts=3))
