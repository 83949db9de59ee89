# BiLaLoRA schedule (paper defaults): 30 epochs, of which BiLaLoRAHook (bilalora_runtime.py)
# searches the first 5 and fine-tunes the other 25; LoRA weights with Adam (lr 1e-6, constant,
# clipped at 5.0; the authors' released option file defaults to 2e-5, used by
# configs/bilalora/dea-net_authors_rtts.py), gates with AdamW lr 3e-4, betas (0.5, 0.999), weight
# decay 1e-3; Algorithm 1's update order (gate step, then the LoRA step at the updated gates) and
# the paper's hypergradient (Eq. 7). An epoch is one pass over the lower half of
# BilevelSplitDataset (BilevelPairSampler).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=5)

optim_wrapper = dict(
    constructor='LayerPositioningOptimWrapperConstructor',
    type='LayerPositioningOptimWrapper',
    lora=dict(optimizer=dict(type='Adam', lr=1e-6, betas=(0.9, 0.999)),
              clip_grad=dict(max_norm=5.0)),
    gate=dict(optimizer=dict(type='AdamW', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
    update_order='paper',
    hypergradient='paper')
