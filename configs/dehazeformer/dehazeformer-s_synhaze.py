# DehazeFormer-s pretrained on clear photos with online synthetic haze.
_base_ = './dehazeformer-t_synhaze.py'
experiment_name = 'dehazeformer-s_synhaze'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(generator=dict(arch='s'))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
