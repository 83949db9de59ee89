# Stage 4 of the shipped base
# (checkpoints/dehazeformer-t-conv_display-metered-haze_clear-pristine.pth): continues stage 3
# (dehazeformer-t-conv_exposed-haze_clear-pristine.py) with a
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

# Only the haze step changes; the rest of both pipelines is the base config's (`_base_.NAME`
# reads a variable of the base config).
haze = dict(_base_.haze, airlight_range=(0.45, 0.95), exposure_compensation=(0.7, 1.0))
train_pipeline = [haze if step.type == 'SyntheticHaze' else step
                  for step in _base_.train_pipeline]
val_pipeline = [dict(haze, seed=2026) if step.type == 'SyntheticHaze' else step
                for step in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
