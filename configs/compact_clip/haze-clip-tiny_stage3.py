# Stage 3 of the compact haze-aware CLIP: haze-clip-tiny_stage2.py's guide trained 1000
# iterations longer (same schedule) against darkening, which it still read as "clearer":
# - 'shadows' among the over-processings (a mild gamma 1.15-1.6, 'a photo with crushed
#   shadows'): on the 12 real hazy photos (320 px, 32 views) stage 2 gave the shipped base's
#   output with gamma 1.3 a lower H2C loss than the output itself on 9 of 12 (mean 0.239 vs
#   0.290), and the demo's adaptation darkened the dim ones (CD 0.66 -> 0.51 of the input's luma);
# - dim scenes (dim_scenes): 30 % of the direction sets start from a clear crop at 35-70 % of
#   its brightness (dusk, overcast), so darkening an already dim scene ranks below it.
# Tried, not shipped (README, compact CLIP; 13 min on the 2-core box): it did not learn it. On
# held-out crops the crushed-shadows crop stays as close to the clear one (H2C loss 0.340 vs
# stage 2's 0.338; clear 0.289 / 0.299), the half-dehazed crop beats all six of its
# over-processings on 11 % of crops (stage 2: 8 %), and on the real photos gamma 1.3 is still
# preferred on 10 of 12 (stage 2: 9). The demo counters darkening with a prompt pair instead
# (configs/bilalora/dehazeformer_demo.py).
#   python tools/train.py configs/compact_clip/haze-clip-tiny_stage3.py
_base_ = './haze-clip-tiny_stage2.py'
experiment_name = 'haze-clip-tiny_stage3'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/haze-clip-tiny_stage2/iter_1000.pth'

train_dataloader = dict(dataset=dict(
    over_processings=('dark', 'contrast', 'cast', 'saturation', 'noise', 'shadows'),
    dim_scenes=0.3))
