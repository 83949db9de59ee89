# The shipped base dehazer's model: a PriorRefinedDehazer in which DehazeFormer-t-conv (t with
# every attention branch off) refines a haze-gated dark channel prior, as a supervised MMagic
# editor (dehazeformer-t.py's, the generator replaced). Images are RGB in [-1, 1].
#   prior:         He et al.'s dark channel prior, all the estimated haze removed (omega 1), the
#                  sky's pixels near the airlight left alone (airlight_tolerance), the detail
#                  layer stretched by its local signal-to-noise ratio (compression steps and
#                  sensor noise kept at their size);
#   network:       DehazeFormer-t-conv on the prior's image and the hazy image (6 channels),
#                  predicting K and B of K * p - B + p (p: the prior's image);
#   output_filter: K and B guided-filtered under p's grey (no blocks or grids of its own);
#   haze_gate:     a photo whose median airlight-normalised dark channel is under 0.15 (the
#                  haze-free training photos' median) passes unchanged, above 0.55 (their 95th
#                  percentile) it is dehazed fully;
#   exposure:      an output darker than 0.85 of its input's mean luma is re-metered to 0.85.
# A photo of more than 2 megapixels takes the fast path (network_pixels): the network sees it
# resized to 2 MP, its K and B come back to full resolution under the prior's grey, and the
# exposure's strength is read from a 2 MP subsample; a 12 MP photo in about 20 s on two CPU
# cores instead of 3 min. Smaller photos, and every photo with
# --cfg-options model.generator.network_pixels=None, take the exact path. What the fast path
# changes: docs/models.md.
# How each part was chosen, with the measurements: docs/how_the_base_was_made.md.
_base_ = './dehazeformer-t.py'

model = dict(
    generator=dict(
        _delete_=True,
        type='PriorRefinedDehazer',
        network=dict(type='DehazeFormer', arch='t-conv', in_chans=6),
        network_method='forward_features',
        prior=dict(type='DarkChannelPrior', omega=1.0, patch=15, t_min=0.1, top_fraction=1e-3,
                   refine_radius=30, refine_eps=1e-3, airlight_tolerance=0.1,
                   detail_layer=dict(radius=8, eps=1e-3, max_gain=10.0, noise=0.003),
                   value_range=(-1.0, 1.0)),
        haze_gate=dict(type='HazeStrengthGate', low=0.15, high=0.55),
        output_filter=dict(type='GuidedFilter', radius=8, eps=4e-3),
        exposure=dict(type='ExposureFloor', floor=0.85, max_strength=4.0, shoulder=4.0,
                      value_range=(-1.0, 1.0)),
        pad_multiple=32,
        network_pixels=2_000_000))
