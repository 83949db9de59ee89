# DehazeFormer-t trained on the paired reside-ots layout: <root>/hazy and <root>/clear.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dehazeformer-t.py',
    '../_base_/datasets/paired_haze.py',
    '../_base_/schedules/adamw_cosine_iters.py',
]
experiment_name = 'dehazeformer-t_reside-ots'
work_dir = f'./work_dirs/{experiment_name}'

train_dataloader = dict(dataset=dict(data_root='data/RESIDE/OTS'))
val_dataloader = dict(dataset=dict(data_root='data/RESIDE/SOTS/outdoor'))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(checkpoint=dict(save_best='PSNR', rule='greater'))
