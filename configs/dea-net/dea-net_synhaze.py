# DEA-Net pretrained on a folder of clear photos with online synthetic haze (L1 loss; the
# official code adds a contrastive regularisation term, left out here), validated by PSNR/SSIM.
# Then: python tools/reparam_dea_net.py work_dirs/dea-net_synhaze/iter_N.pth dea-net_deployed.pth
# and adapt with configs/bilalora/dea-net_rtts.py (load_from=dea-net_deployed.pth).
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dea-net.py',
    '../_base_/datasets/synhaze_clear_folder.py',
    '../_base_/schedules/adamw_cosine_iters.py',
]
experiment_name = 'dea-net_synhaze'
work_dir = f'./work_dirs/{experiment_name}'

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999),
                                    weight_decay=0.0))
param_scheduler = dict(eta_min=1e-6)
default_hooks = dict(checkpoint=dict(save_best='PSNR', rule='greater'))
