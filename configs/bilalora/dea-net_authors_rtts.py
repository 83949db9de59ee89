# BiLaLoRA from the authors' Base.pth (converted: tools/convert_authors_checkpoint.py) with the
# authors' released settings, as far as the plugin reproduces them: their value convention
# (CLIP-normalised input, [0, 1] output), the 16 searched blocks with LoRA on their direct
# nn.Conv2d children, r=8, lora_alpha=16, LoRA Adam lr 2e-5 (their option file) clipped at 5.0,
# gates AdamW lr 3e-4, betas (0.5, 0.999), wd 1e-3, batch 24 of 224 crops from one half for the
# LoRA weights and an independently shuffled other half for the gates, 5 search + 25 fine-tune
# epochs, top-3; their hypergradient (hypergradient='authors_code'), their fine-tune stage (a
# fresh Adam over the kept LoRA weights and gates: finetune_gates='trained'), the H2C output
# unclamped (clamp_pred=False). Kept from this plugin (see the README's deviation table): the
# gates are not also in the LoRA optimizer, CLIP sees each image normalised once.
#   python tools/train.py configs/bilalora/dea-net_authors_rtts.py --cfg-options \
#       load_from=DIR/base.pth train_dataloader.dataset.dataset.data_root=data/Real \
#       val_dataloader.dataset.data_root=data/RTTS test_dataloader.dataset.data_root=data/RTTS
_base_ = ['./dea-net_rtts.py']
experiment_name = 'bilalora_dea-net_authors_rtts'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='DehazeDataPreprocessor',
        mean=[122.7709383, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        output_mean=[0., 0., 0.],
        output_std=[255., 255., 255.]),
    loss=dict(clamp_pred=False),
    test_cfg=dict(resize_multiple=16))
optim_wrapper = dict(
    lora=dict(optimizer=dict(lr=2e-5, betas=(0.9, 0.999), eps=1e-8)),
    hypergradient='authors_code')
custom_hooks = [
    dict(type='BiLaLoRAHook', search_epochs=5, top_k=3, log_interval=10, save_adapter=True,
         save_merged=True, finetune_gates='trained'),
]
