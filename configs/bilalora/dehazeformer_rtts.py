# BiLaLoRA on DehazeFormer-t pretrained by configs/dehazeformer/dehazeformer-t_synhaze.py,
# adapted to real hazy photos (RTTS). Search space: every transformer block; LoRA on each block's
# convs and attention projections (V, QK, proj, DW conv, MLP 1x1 convs, found recursively), not on
# RLN's and the relative-position MLP's meta layers.
#   python tools/train.py configs/bilalora/dehazeformer_rtts.py --cfg-options \
#       load_from=PRETRAINED.pth train_dataloader.dataset.dataset.data_root=data/RTTS \
#       val_dataloader.dataset.data_root=data/RTTS test_dataloader.dataset.data_root=data/RTTS
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/dehazeformer-t.py',
    '../_base_/datasets/unlabeled_hazy_bilevel.py',
    '../_base_/schedules/bilalora.py',
]
experiment_name = 'bilalora_dehazeformer-t_rtts'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(
    _delete_=True,
    type='BiLaLoRADehazer',
    generator={{_base_.model.generator}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    lora_cfg=dict(
        search_space=['layer1.blocks.*', 'layer2.blocks.*', 'layer3.blocks.*',
                      'layer4.blocks.*', 'layer5.blocks.*'],
        targets=dict(types=('Conv2d', 'Linear'), exclude=('*meta*', )),
        r=8, lora_alpha=16, dropout=0.0, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai',
              prompts=(('a photo with haze', 'a clear photo'), )))

log_processor = dict(by_epoch=True)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=5))

# Set load_from to the synthetic-haze pretraining checkpoint (a BaseEditModel checkpoint: its
# generator keys load into the unchanged base parameter names of the LoRA layers).
load_from = None
