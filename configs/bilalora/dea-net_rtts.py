# BiLaLoRA on the deployed (re-parameterised) DEA-Net, the paper's setting. Search space: the 16
# blocks the authors searched (encoder levels 1-2 and the eight level-3 DEA blocks); LoRA on each
# block's direct nn.Conv2d children (conv1, conv2) as in the authors' code
# (targets.recursive=False). r=8, lora_alpha=16: 405,504 LoRA weights over the space, 110,592 on
# three level-3 blocks. targets.recursive=True also adapts the level-3 attention convs.
_base_ = [
    '../_base_/bilalora_runtime.py',
    '../_base_/datasets/unlabeled_hazy_bilevel.py',
    '../_base_/schedules/bilalora.py',
]
experiment_name = 'bilalora_dea-net_rtts'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(
    type='BiLaLoRADehazer',
    generator=dict(type='DEANet', base_dim=32, deploy=True),
    data_preprocessor=dict(
        type='DehazeDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]),
    lora_cfg=dict(
        search_space=[f'down_level1_block{i}' for i in range(1, 5)]
        + [f'down_level2_block{i}' for i in range(1, 5)]
        + [f'level3_block{i}' for i in range(1, 9)],
        targets=dict(types=('Conv2d', ), recursive=False),
        r=8, lora_alpha=16, dropout=0.0, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai'))

# Set load_from to a deployed DEA-Net checkpoint (tools/reparam_dea_net.py output, or the
# official *_simplified.pk weights).
load_from = None
