# DehazeFormer-b pretrained on clear photos with online synthetic haze.
_base_ = './dehazeformer-t_synhaze.py'
experiment_name = 'dehazeformer-b_synhaze'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(generator=dict(arch='b'))
optim_wrapper = dict(optimizer=dict(lr=2e-4))
