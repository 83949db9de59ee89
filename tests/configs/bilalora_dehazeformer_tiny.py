# configs/bilalora/dehazeformer_rtts.py shrunk for tests: iteration-based (resumable anywhere),
# batch 2, search 3 iterations then fine-tune. The data folder, the crop size, the tiny CLIP
# config (model.loss.clip_model) and max_iters come from --cfg-options (see test_bilevel.py).
_base_ = ['../../configs/bilalora/dehazeformer_rtts.py']
custom_imports = dict(imports=['mmbilalora', 'helpers.rank_state_hook'], allow_failed_imports=False)

model = dict(loss=dict(pretrained=None))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(_delete_=True, type='BilevelPairSampler', shuffle=True, infinite=True))
val_dataloader = dict(num_workers=0, dataset=dict(indices=1))
test_dataloader = dict(num_workers=0)
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=5, val_interval=1000)
optim_wrapper = dict(lora=dict(optimizer=dict(lr=1e-3)), gate=dict(optimizer=dict(lr=1e-2)))
custom_hooks = [
    dict(type='BiLaLoRAHook', search_iters=3, top_k=3, log_interval=1, save_adapter=True,
         save_merged=True),
    dict(type='RankStateDumpHook'),
]
log_processor = dict(by_epoch=False)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1, max_keep_ckpts=10),
                     logger=dict(interval=1))
