# DEA-Net (training form, with DEConv) as a supervised MMagic editor; images in [0, 1] as in the
# official code. The adaptation stage uses the deployed form (tools/reparam_dea_net.py).
model = dict(
    type='BaseEditModel',
    generator=dict(type='DEANet', base_dim=32, deploy=False),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(),
    test_cfg=dict(),
    data_preprocessor=dict(
        type='DehazeDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
