# DehazeFormer-t as a supervised MMagic editor. Official checkpoints expect inputs in [-1, 1]:
# the data preprocessor maps [0, 255] RGB to [-1, 1] and back.
model = dict(
    type='BaseEditModel',
    generator=dict(type='DehazeFormer', arch='t'),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(),
    test_cfg=dict(),
    data_preprocessor=dict(
        type='DehazeDataPreprocessor', mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5]))
