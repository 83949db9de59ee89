# Stage 9, the shipped base's settings until stage 10 (...-gated-snr-r8-floor_..., which
# inherits this config): stage 8's weights
# (checkpoints/dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine.pth,
# not retrained) with the detail layer of its dark channel prior at radius 8 (stage 8: 4),
# chosen at inference: the base layer is each channel guided-filtered over 17x17 pixels instead
# of 9x9, so the small steps of 8x8 compression blocks fall into the detail layer, where the
# noise-aware gain keeps them at their size, instead of into the base layer, which is stretched
# by 1 / t.
# Measured (benchmarks/base_quality.py, 12 real photos, 512-pixel tiles; haze-free
# clear_pristine 01-08): stage 8 FADE 0.650, NIQE 3.191, brightness 0.864, blockiness 0.068,
# haze-free 1.013 / 3.85; this config 0.653 / 3.151 / 0.864 / 0.064, haze-free 1.013 / 3.84;
# radius 6: 0.653 / 3.156 / 0.864 / 0.067. Tried, not adopted: omega=1.0 (all the estimated
# haze removed; He et al. keep 5 %) with radius 8: 0.575 / 3.143 / 0.824 / 0.062, but the demo's
# real folder came out at brightness 0.790 (base) and 0.769 (adapted), under the 0.8 goal;
# omega 1 with airlight_tolerance 0.15 (0.600 / 3.162 / 0.857; XR's sandy road grainy) or 0.2
# (0.640 / 3.186 / 0.895 / 0.092); omega 0.98 at radius 4 (0.604 / 3.191 / 0.841).
# Training this config would fine-tune stage 8 behind these settings (not done):
#   python tools/train.py configs/dehazeformer/\
#       dehazeformer-t-conv-gf-dcp-gated-snr-r8_display-metered-haze_clear-pristine.py
_base_ = './dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine.py'
experiment_name = 'dehazeformer-t-conv-gf-dcp-gated-snr-r8_display-metered-haze_clear-pristine'
work_dir = f'./work_dirs/{experiment_name}'
load_from = ('checkpoints/'
             'dehazeformer-t-conv-gf-dcp-gated-snr_display-metered-haze_clear-pristine.pth')

model = dict(generator=dict(input_prior=dict(detail_layer=dict(radius=8))))
