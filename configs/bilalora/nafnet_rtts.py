# BiLaLoRA on MMagic's own NAFNet by configuration alone (no plugin code for the network): the
# generator is MMagic's NAFNetLocal (_base_/models/nafnet.py), the search space every NAFBlock,
# LoRA on each block's convs (1x1, depthwise 3x3 and the SCA conv; those whose LoRA would not be
# smaller than the conv are skipped). Data, schedule and runtime are the plugin's BiLaLoRA bases
# (the paper's defaults), as in configs/bilalora/dehazeformer_rtts.py.
_base_ = [
    '../_base_/bilalora_runtime.py',
    '../_base_/models/nafnet.py',
    '../_base_/datasets/unlabeled_hazy_bilevel.py',
    '../_base_/schedules/bilalora.py',
]
experiment_name = 'bilalora_nafnet_rtts'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(
    _delete_=True,
    type='BiLaLoRADehazer',
    generator={{_base_.model.generator}},
    data_preprocessor={{_base_.model.data_preprocessor}},
    lora_cfg=dict(search_space=[dict(type='NAFBlock')], targets=dict(types=('Conv2d', )),
                  r=8, lora_alpha=16, gate=True),
    loss=dict(type='CLIPHazeClearLoss', clip_model='ViT-B-32', pretrained='openai'))

load_from = None  # a NAFNet checkpoint pretrained for dehazing
