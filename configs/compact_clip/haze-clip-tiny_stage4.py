# Stage 4 of the compact haze-aware CLIP: haze-clip-tiny_stage2.py's guide trained 1000
# iterations longer (same schedule) against stretched detail ('sharpened' among the
# over-processings: faint grain added, then the fine detail stretched 1.3-2.5 times, 'an
# oversharpened photo'). On the demo's embedded set (32-64 px views of the shipped base's
# outputs, benchmarks/compact_clip_probe.py) stage 2 scores the output with its fine detail
# stretched 1.5 times better than the output itself on 4 of 5 images and the output with it
# halved worse on 5 of 5, so the adapted dehazer is rewarded for stretching the set's grain and
# JPEG steps.
# Tried, not shipped (README, compact CLIP; 12 min on the 2-core box, started from the shipped
# stage-2 weights): on held-out crops it learned it (stretched 0.411 vs clear 0.311; stage 2
# 0.354 vs 0.299), but on the base's outputs it still prefers the stretched detail on 4 of 5
# images, and the demo with it scored 14.869 dB / 0.5648 on the embedded set (stage 2: 14.909 /
# 0.5664; the base 14.561 / 0.5741).
#   python tools/train.py configs/compact_clip/haze-clip-tiny_stage4.py
_base_ = './haze-clip-tiny_stage2.py'
experiment_name = 'haze-clip-tiny_stage4'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'work_dirs/haze-clip-tiny_stage2/iter_1000.pth'

train_dataloader = dict(dataset=dict(
    over_processings=('dark', 'contrast', 'cast', 'saturation', 'noise', 'sharpened')))
