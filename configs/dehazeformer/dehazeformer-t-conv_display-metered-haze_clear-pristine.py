# Stage 5 of the shipped base (shipped until stage 6,
# dehazeformer-t-conv-gf_display-metered-haze_clear-pristine.py, added its output filter):
# continues stage 4 (dehazeformer-t-conv_metered-haze_clear-pristine.py)
# with the camera metering on screen brightness instead of linear light
# (SyntheticHaze(exposure_metering='display')): each hazy capture is scaled (in linear light) so
# that its mean sRGB value is m_h * (m_c / m_h) ** g, g uniform in 0.6-1.0 (m_c, m_h: mean sRGB of
# the clear photo and of the unexposed hazy image). Linear metering leaves the clear reference
# darker on screen than the capture (0.87 of it on average for beta 1-2), and stage 4 learned to
# darken real photos by about that (brightness ratio 0.87, dusk scenes 0.55-0.58). 450 iterations
# of AdamW, lr 1e-4 with cosine decay to 1e-6.
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_pretrain.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_scene-haze_clear-pristine.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_exposed-haze_clear-pristine.py
#   python tools/train.py configs/dehazeformer/dehazeformer-t-conv_metered-haze_clear-pristine.py
#   python tools/train.py \
#       configs/dehazeformer/dehazeformer-t-conv_display-metered-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv_metered-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv_display-metered-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/dehazeformer-t-conv_metered-haze_clear-pristine/iter_450.pth'

haze = dict(_base_.haze, exposure_compensation=(0.6, 1.0), exposure_metering='display')
train_pipeline = [haze if step.type == 'SyntheticHaze' else step
                  for step in _base_.train_pipeline]
val_pipeline = [dict(haze, seed=2026) if step.type == 'SyntheticHaze' else step
                for step in _base_.val_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
