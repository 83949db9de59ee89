# DehazeFormer-t pretrained on a folder of clear photos with online synthetic haze.
#   python tools/train.py configs/dehazeformer/dehazeformer-t_synhaze.py \
#       --cfg-options train_dataloader.dataset.data_root=PATH val_dataloader.dataset.data_root=PATH
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dehazeformer-t.py',
    '../_base_/datasets/synhaze_clear_folder.py',
    '../_base_/schedules/adamw_cosine_iters.py',
]
experiment_name = 'dehazeformer-t_synhaze'
work_dir = f'./work_dirs/{experiment_name}'

optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(checkpoint=dict(save_best='PSNR', rule='greater'))
