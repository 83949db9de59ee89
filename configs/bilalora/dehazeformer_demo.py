# The demo (tools/demo.py): BiLaLoRA on the shipped DehazeFormer-t-conv base checkpoint, sized for a
# few minutes on 2 CPU cores. Deviations from the paper schedule, for time only: iteration-based,
# 100 search + 200 fine-tune iterations, batch 4 of 128x128 crops, LoRA Adam lr 5e-5 and gate
# AdamW lr 1e-2 (the paper's 1e-6 / 3e-4 barely move in so few steps). The H2C loss scores 8 random
# views per image (augment_views, not in the paper): with whole images the compact CLIP's gradient
# amplified noise and artefacts (see the README's domain-shift table). Each view is 25-50 % of the
# crop's side (augment_scale; 32-64 px, which the compact CLIP sees at 64 px, so at or above the
# pixels' own size). tools/demo.py sets the data folder and the CLIP guidance weights (real
# ViT-B-32 when available, else the compact CLIP).
# Until 2026-12-03 the demo used LoRA lr 2.5e-5 and views of 50-100 % of the crop: at lr 5e-5
# the compact CLIP's taste for darker mid-tones then took the real photos' brightness below 0.8 of
# the input's on two of three seeds; the shipped base's exposure floor now holds them at 0.85.
# Measured (README, demo; stage-10 base, seeds 0 / 1 / 2): on the real folder the mean FADE falls
# by 9.6 / 9.3 / 9.3 % (the old settings: +5.6 / -5.6 / +1.5 %), NIQE 0.3-0.5 % lower, brightness
# >= 0.855; on the embedded set PSNR gains 0.29-0.35 dB (old: 0.05-0.09) and SSIM loses
# 0.004-0.009 (old: -0.0011 to +0.0003), the extra contrast stretching the set's synthetic sensor
# noise; colour cast and blockiness on the real photos rise a little (the dusk photo CD bluer).
# Tried (README, demo): a second prompt pair 'a dark photo' -> 'a clear photo' (prompt_weights
# 1/2, 1/3, 1/4) against the compact CLIP's taste for darker pictures: at 1/2 the real photos
# kept their brightness but the embedded set fell below the base; at 1/3 and 1/4 the real photos
# darkened as much as without it.
_base_ = ['./dehazeformer_rtts.py']
experiment_name = 'bilalora_dehazeformer-t_demo'
work_dir = f'./work_dirs/{experiment_name}'
load_from = ('checkpoints/'
             'dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine.pth')
search_iters = 100
max_iters = 300

model = dict(generator=dict(
    arch='t-conv', guided_output=dict(radius=8, eps=4e-3), prior_gates_output=True,
    input_prior=dict(type='DarkChannelPrior', omega=1.0, patch=15, t_min=0.1, top_fraction=1e-3,
                     refine_radius=30, refine_eps=1e-3, airlight_tolerance=0.1,
                     haze_gate=(0.15, 0.55),
                     detail_layer=dict(radius=8, eps=1e-3, max_gain=10.0, noise=0.003),
                     value_range=(-1.0, 1.0)),
    exposure_floor=dict(type='ExposureFloor', floor=0.85, max_strength=4.0, shoulder=4.0,
                        value_range=(-1.0, 1.0))),
             loss=dict(clip_model='ViT-B-32', pretrained='local-dir:checkpoints/haze_clip_tiny',
                       augment_views=8, augment_scale=(0.25, 0.5)))
train_dataloader = dict(
    batch_size=4, num_workers=1,
    sampler=dict(_delete_=True, type='BilevelPairSampler', shuffle=True, infinite=True))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters + 1)
optim_wrapper = dict(lora=dict(optimizer=dict(lr=5e-5)), gate=dict(optimizer=dict(lr=1e-2)))
custom_hooks = [
    dict(type='BiLaLoRAHook', search_iters=search_iters, top_k=3, log_interval=5,
         save_adapter=True, save_merged=True),
]
log_processor = dict(by_epoch=False)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters),
                     logger=dict(interval=10))
