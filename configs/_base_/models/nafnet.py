# MMagic's NAFNet (NAFNetLocal, the architecture of MMagic's
# nafnet_c64eb11128mb1db1111_8xb8-lr1e-3-400k_gopro.py) as a supervised MMagic editor; images in
# [0, 1] as in that config.
model = dict(
    type='BaseEditModel',
    generator=dict(
        type='NAFNetLocal',
        img_channels=3,
        mid_channels=64,
        enc_blk_nums=[1, 1, 1, 28],
        middle_blk_num=1,
        dec_blk_nums=[1, 1, 1, 1]),
    pixel_loss=dict(type='PSNRLoss'),
    train_cfg=dict(),
    test_cfg=dict(),
    data_preprocessor=dict(
        type='DehazeDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
