# BiLaLoRA schedule (paper defaults): 5 search + 25 fine-tune epochs; LoRA weights with Adam
# (lr 1e-6, clipped at 5.0; the authors' released option file defaults to 2e-5, used by
# configs/bilalora/dea-net_authors_rtts.py), gates with AdamW lr 3e-4, betas (0.5, 0.999), weight
# decay 1e-3; Algorithm 1's update order (gate step, then the LoRA step at the updated gates) and
# the paper's hypergradient (Eq. 7). An epoch is one pass over the lower half of BilevelSplitDataset
# (BilevelPairSampler).
search_epochs = 5
finetune_epochs = 25
top_k = 3

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=search_epochs + finetune_epochs,
                 val_interval=5)

optim_wrapper = dict(
    constructor='LayerPositioningOptimWrapperConstructor',
    type='LayerPositioningOptimWrapper',
    lora=dict(optimizer=dict(type='Adam', lr=1e-6, betas=(0.9, 0.999)),
              clip_grad=dict(max_norm=5.0)),
    gate=dict(optimizer=dict(type='AdamW', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)),
    update_order='paper',
    hypergradient='paper')

# One scheduler list per optimizer (LoRA lr constant as in the authors' code; gates untouched).
param_scheduler = dict(lora=[dict(type='ConstantLR', factor=1.0, by_epoch=True)], gate=[])

custom_hooks = [
    dict(type='BiLaLoRAHook', search_epochs=search_epochs, top_k=top_k, log_interval=10,
         save_adapter=True, save_merged=True),
]

# Two forward/backward passes per step go through the model's own train_step, so DDP wraps the
# generator alone; dropped adapters and frozen gates get no gradient after the phase switch.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=True)
