# Stage 1 of the compact haze-aware CLIP (the H2C guide used when real CLIP weights are
# unavailable; the shipped checkpoints/haze_clip_tiny is its stage 2, haze-clip-tiny_stage2.py):
# the open_clip architecture of haze-clip-tiny.json, from scratch, on captioned degradations of
# the clear photos 11-90 of ../shared/data/clear_pristine (01-10 held out for the evaluation), with
# the CLIP contrastive objective plus the direction-ranking objective that makes "clear minus
# hazy" prefer dehazing over darkening, crushed contrast, colour casts and over-saturation
# (mmbilalora.models.guidance.compact_clip).
#   python tools/train.py configs/compact_clip/haze-clip-tiny_stage1.py
_base_ = ['../_base_/default_runtime.py']
experiment_name = 'haze-clip-tiny_stage1'
work_dir = f'./work_dirs/{experiment_name}'
data_root = '../shared/data/clear_pristine'
max_iters = 2000

model = dict(type='CompactHazeCLIP', model_config='configs/compact_clip/haze-clip-tiny.json',
             direction_weight=1.0, margin=0.1)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='CaptionDegradationDataset', data_root=data_root,
                 indices=list(range(10, 90)), image_size=64, short_side=192))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=max_iters // 20),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=max_iters // 20, end=max_iters,
         T_max=max_iters - max_iters // 20, eta_min=0.0),
]
custom_hooks = [
    dict(type='CompactCLIPExportHook', holdout_root=data_root, holdout_indices=list(range(10)),
         real_hazy_root='../shared/data/real_hazy'),
]
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
visualizer = dict(_delete_=True, type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
