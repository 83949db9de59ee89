# BiLaLoRA on the shipped base dehazer (checkpoints/dcp-dehazeformer-t-conv_synhaze_clear-pristine:
# DehazeFormer-t-conv refining a haze-gated dark channel prior), adapted to real hazy photos
# without references (RTTS layout: one folder of photos, searched recursively).
# Search space: every transformer block of the network; LoRA on each block's 1x1 convs (attn.V,
# attn.proj and the MLP's two), not on the depthwise 5x5 attn.conv (a rank-4 LoRA there would hold
# 4x its weights). r = 4, lora_alpha = 8 (the paper's scaling 2; its r = 8 is for DEA-Net's 32-128
# channels).
#   python tools/train.py configs/bilalora/dehazeformer_rtts.py --cfg-options \
#       train_dataloader.dataset.dataset.data_root=data/RTTS \
#       val_dataloader.dataset.data_root=data/RTTS test_dataloader.dataset.data_root=data/RTTS
# Another base: load_from=PATH (a checkpoint of this model, e.g. a BiLaLoRA merged one).
_base_ = [
    '../_base_/bilalora_runtime.py',
    '../_base_/models/dcp-dehazeformer-t-conv.py',
    '../_base_/datasets/unlabeled_hazy_bilevel.py',
    '../_base_/schedules/bilalora.py',
]
experiment_name = 'bilalora_dehazeformer_rtts'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'mmbilalora://dcp-dehazeformer-t-conv_synhaze_clear-pristine'

model = dict(
    _delete_=True,
    type='BiLaLoRADehazer',
    generator={{_base_.model.generator}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    lora_cfg=dict(
        search_space=[f'network.layer{i}.blocks.*' for i in range(1, 6)],
        targets=dict(types=('Conv2d', 'Linear'), exclude=('*meta*', 'attn.conv')),
        r=4, lora_alpha=8, dropout=0.0, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai',
              prompts=(('a photo with haze', 'a clear photo'), )))
