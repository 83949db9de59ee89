# Tried on the way to stage 7, not shipped (2026-12-03): the stage-6 base refining a *haze-gated*
# dark channel prior. The ungated
# prior (dehazeformer-t-conv-gf-dcp_display-metered-haze_clear-pristine.py) removed real haze far
# better than any base trained here but could not tell a haze-free photo from a hazy one; the
# network had to undo it on haze-free photos and, trained longer, undid it on real haze too.
# Here DarkChannelPrior(haze_gate=(0.15, 0.55)) scales omega per image by its median of the
# airlight-normalised dark channel: 0 at or below 0.15 (the median of the 80 haze-free training
# photos, clear_pristine 11-90), full omega at 0.55 and above (their 95th percentile), so a
# photo as dark-channelled as a typical haze-free one passes the prior unchanged and the loaded
# stage-6 network sees exactly its old input. Airlight and gate are estimated on the whole image,
# also when it is dehazed in tiles (mmbilalora.apis.dehaze_array). Everything else as the
# ungated config: 6-channel input (the prior's image, then the input), K and B on the prior's
# image, stage 6's synthetic haze; stage 6's weights load with the input's channels at zero.
# Measured (benchmarks/base_quality.py, 12 real photos, haze-free clear_pristine 01-08; stage 6:
# FADE 1.096, NIQE 3.354, brightness 0.933, haze-free 0.988 / 5.59, validation 26.26 dB):
# iteration 0 (stage 6's weights as loaded): FADE 0.393, NIQE 3.174, brightness 0.650, haze-free
# 0.952 / 8.92 (six of eight exactly stage 6's; 05, itself lightly hazy, 36.8);
# iteration 100: 0.526, 3.179, 0.760, haze-free 1.065 / 11.6;
# iteration 200: 0.640, 3.168, 0.870, 1.139 / 15.9; iteration 300: 0.689, 3.150, 0.858,
# 1.099 / 12.6, validation 24.03 dB. The network learnt to brighten the prior's darker image on
# the training photos whose dark channel opens the gate, and brightened every haze-free photo
# by 10-20 %, gate closed or not; the sky of the Beijing photo shows its JPEG blocks stretched.
# Hence stage 7 (...-gf-dcp-gated-layered_..., shipped until stage 8): the gate also scales the
# network's correction, and a detail layer keeps the compression steps at their size.
#   python tools/train.py \
#       configs/dehazeformer/dehazeformer-t-conv-gf-dcp-gated_display-metered-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv-gf-dcp_display-metered-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv-gf-dcp-gated_display-metered-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = 'checkpoints/dehazeformer-t-conv-gf_display-metered-haze_clear-pristine.pth'
max_iters = 300

model = dict(generator=dict(input_prior=dict(haze_gate=(0.15, 0.55))))
train_cfg = dict(max_iters=max_iters, val_interval=150)
param_scheduler = dict(T_max=max_iters, eta_min=1e-6)
default_hooks = dict(checkpoint=dict(interval=50, max_keep_ckpts=6))
