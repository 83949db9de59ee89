# BiLaLoRA on MMagic's own NAFNet, configured from its GoPro config alone (no plugin code for the
# network): the generator and data preprocessor come from the mmagic:: config, the search space is
# every NAFBlock, LoRA goes on each block's convs (1x1, depthwise 3x3 and the SCA conv).
# Everything else mirrors configs/bilalora/dehazeformer_rtts.py (the paper's defaults).
_base_ = ['mmagic::nafnet/nafnet_c64eb11128mb1db1111_8xb8-lr1e-3-400k_gopro.py']
experiment_name = 'bilalora_nafnet_rtts'
work_dir = f'./work_dirs/{experiment_name}'
custom_imports = dict(imports=['mmbilalora'], allow_failed_imports=False)

model = dict(
    _delete_=True,
    type='BiLaLoRADehazer',
    generator={{_base_.model.generator}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    lora_cfg=dict(search_space=[dict(type='NAFBlock')], targets=dict(types=('Conv2d', )),
                  r=8, lora_alpha=16, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai'))
load_from = None  # a NAFNet checkpoint pretrained for dehazing

data_root = 'data/RTTS'
crop_size = 224
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
    dict(type='PackInputs', keys=['img'], meta_keys=['key']),
]
train_dataloader = dict(
    _delete_=True, batch_size=24, num_workers=4, persistent_workers=False,
    sampler=dict(type='BilevelPairSampler', shuffle=True),
    dataset=dict(type='BilevelSplitDataset', upper_fraction=0.5, split_seed=0,
                 dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img',
                              pipeline=train_pipeline)))
val_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img', test_mode=True,
                 indices=50, pipeline=test_pipeline))
test_dataloader = dict(
    _delete_=True, batch_size=1, num_workers=2, persistent_workers=False, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, key='img', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = [dict(type='NIQENoRef', score_input=True), dict(type='Entropy', score_input=True)]
test_evaluator = [dict(type='FADE', score_input=True), dict(type='NIQENoRef', score_input=True),
                  dict(type='Entropy', score_input=True)]

search_epochs = 5
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=30, val_interval=5)
optim_wrapper = dict(
    _delete_=True,
    constructor='LayerPositioningOptimWrapperConstructor',
    type='LayerPositioningOptimWrapper',
    lora=dict(optimizer=dict(type='Adam', lr=1e-6), clip_grad=dict(max_norm=5.0)),
    gate=dict(optimizer=dict(type='AdamW', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
    update_order='paper',
    hypergradient='paper')
param_scheduler = dict(_delete_=True, lora=[dict(type='ConstantLR', factor=1.0, by_epoch=True)],
                       gate=[])
custom_hooks = [dict(type='BiLaLoRAHook', search_epochs=search_epochs, top_k=3, log_interval=10,
                     save_adapter=True, save_merged=True)]
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)
default_hooks = dict(checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=True,
                                     interval=5, max_keep_ckpts=3, save_last=True))
log_processor = dict(by_epoch=True)
