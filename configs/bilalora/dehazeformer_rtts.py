# BiLaLoRA on DehazeFormer-t pretrained by configs/dehazeformer/dehazeformer-t_synhaze.py,
# adapted to real hazy photos (RTTS). Search space: every transformer block; LoRA on each block's
# 1x1 convs (V, QK, proj, MLP, found recursively), not on the depthwise 5x5 attn.conv (a rank-4
# LoRA there would hold 4x its weights) nor RLN's and the relative-position MLP's meta layers.
# r = 4, lora_alpha = 8 (the paper's scaling 2; its r = 8 is for DEA-Net's 32-128 channels): the
# search space is 6.9 % of DehazeFormer-t's weights, the largest top-3 adapter 2.8 % (at r = 8:
# 13.9 % and 5.7 %).
#   python tools/train.py configs/bilalora/dehazeformer_rtts.py --cfg-options \
#       load_from=PRETRAINED.pth train_dataloader.dataset.dataset.data_root=data/RTTS \
#       val_dataloader.dataset.data_root=data/RTTS test_dataloader.dataset.data_root=data/RTTS
_base_ = [
    '../_base_/bilalora_runtime.py',
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
        targets=dict(types=('Conv2d', 'Linear'), exclude=('*meta*', 'attn.conv')),
        r=4, lora_alpha=8, dropout=0.0, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai',
              prompts=(('a photo with haze', 'a clear photo'), )))

# Set load_from to the synthetic-haze pretraining checkpoint (a BaseEditModel checkpoint: its
# generator keys load into the unchanged base parameter names of the LoRA layers).
load_from = None
