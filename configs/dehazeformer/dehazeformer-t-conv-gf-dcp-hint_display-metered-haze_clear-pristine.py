# Tried after stage 6, not shipped (2026-11-28). Stage 7 candidate, the prior as a hint: as
# dehazeformer-t-conv-gf-dcp_display-metered-haze_clear-pristine.py (He et al.'s dark channel
# prior with airlight_tolerance=0.1 on the input; the network sees the prior's image and the
# input), but the network's K and B act on the input as in stage 6
# (DehazeFormer(prior_role='hint')): the prior only informs the network, and stage 6's weights
# load as exactly stage 6 (the prior's first-conv channels start at zero). Planned: 600
# iterations of AdamW from stage 6's shipped weights (iteration 150), lr 1e-4, cosine decay.
# Stopped at iteration 150 (benchmarks/base_quality.py): FADE 1.040, NIQE 3.331, brightness
# 0.916, haze-free 1.016 / 6.47, validation 25.55 dB (stage 6: 1.096 / 3.354 / 0.933 /
# 0.988 / 5.59, 26.26 dB): informed by the prior, the network changes little of what it does.
#   python tools/train.py \
#       configs/dehazeformer/dehazeformer-t-conv-gf-dcp-hint_display-metered-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv-gf-dcp_display-metered-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv-gf-dcp-hint_display-metered-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'

model = dict(generator=dict(prior_role='hint'))
