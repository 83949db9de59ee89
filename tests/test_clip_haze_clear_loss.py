"""CLIPHazeClearLoss: value, optimum, gradients, frozen/hidden CLIP, offline behaviour."""
import time
import warnings

import numpy as np
import open_clip
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from mmbilalora.engine.hooks.bilalora_hook import domain_prompts
from mmbilalora.models.guidance import CLIPWeightsUnavailable
from mmbilalora.models.losses import CLIPHazeClearLoss

PROMPTS = (('a photo with haze', 'a clear photo'), ('foggy scene', 'sunny scene'))


@pytest.fixture
def loss(tiny_clip_name):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS)


def np_normalize(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_value_matches_numpy_formula(loss, tiny_clip_name, device):
    torch.manual_seed(1)
    pred = (torch.rand(3, 3, 40, 56) * 2.4 - 1.2).to(device)  # partly outside [-1, 1]: clamped
    inp = (torch.rand(3, 3, 40, 56) * 2 - 1).to(device)
    loss.to(device)
    value = loss(pred, inp).item()

    mean = torch.tensor(open_clip.OPENAI_DATASET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(open_clip.OPENAI_DATASET_STD, device=device).view(1, 3, 1, 1)

    def embed(x):
        x = ((x + 1) / 2).clamp(0, 1)
        x = F.interpolate(x, size=(32, 32), mode='bicubic', align_corners=False, antialias=True)
        with torch.no_grad():
            return loss.clip.encode_image((x - mean) / std).double().cpu().numpy()

    tokenizer = open_clip.get_tokenizer(tiny_clip_name)
    with torch.no_grad():
        hazy, clear = (loss.clip.encode_text(tokenizer([p[k] for p in PROMPTS]).to(device))
                       .double().cpu().numpy() for k in (0, 1))
    text_dir = np_normalize(np_normalize(clear) - np_normalize(hazy))
    img_dir = np_normalize(np_normalize(embed(pred)) - np_normalize(embed(inp)))
    expected = np.mean(1 - img_dir @ text_dir.T)
    assert value == pytest.approx(expected, abs=1e-5)


class LinearToyCLIP(nn.Module):
    """encode_image = per-channel mean of the CLIP input (R^3); fixed text embeddings."""

    def __init__(self, hazy, clear):
        super().__init__()
        self.text = {0: torch.tensor(hazy), 1: torch.tensor(clear)}

    def encode_image(self, x):
        return x.mean(dim=(2, 3))

    def encode_text(self, which):
        return self.text[which].unsqueeze(0)


def test_loss_is_zero_when_embedding_moves_along_text_direction(loss):
    toy = LinearToyCLIP(hazy=[1.0, 0.2, -0.3], clear=[0.1, 0.9, 0.4])
    loss.load_clip()
    object.__setattr__(loss, '_clip', toy)
    loss.prompts, loss.prompt_weights = (('h', 'c'), ), torch.ones(1)
    loss.text_direction = loss._text_directions(lambda texts: 0 if texts[0] == 'h' else 1)
    d = loss.text_direction[0].double()
    mean = loss.clip_mean.view(3).double()
    std = loss.clip_std.view(3).double()

    def image_with_embedding(e):
        pixel01 = e * std + mean  # constant image whose CLIP-normalised channels equal e
        assert (pixel01 > 0).all() and (pixel01 < 1).all()
        return (pixel01 * 2 - 1).float().view(1, 3, 1, 1).expand(1, 3, 16, 16).contiguous()

    e_in = torch.tensor([0.3, -0.2, 0.25], dtype=torch.float64)
    e_in = e_in if e_in @ d < 0 else -e_in
    unit_in = e_in / e_in.norm()
    reflected = unit_in - 2 * (unit_in @ d) * d  # unit vector; reflected - unit_in is along +d
    inp = image_with_embedding(0.5 * unit_in)
    along = image_with_embedding(0.4 * reflected)
    against = image_with_embedding(0.4 * (unit_in + 2 * (unit_in @ d) * d))
    assert loss(along, inp).item() == pytest.approx(0.0, abs=1e-5)
    assert loss(against, inp).item() > 1.0


def test_gradient_reaches_pred_only(loss, device):
    pred = (torch.rand(2, 3, 24, 24) * 2 - 1).to(device).requires_grad_()
    inp = (torch.rand(2, 3, 24, 24) * 2 - 1).to(device).requires_grad_()
    loss.to(device)
    loss(pred, inp).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert inp.grad is None
    assert all(p.grad is None and not p.requires_grad for p in loss.clip.parameters())


def test_clip_is_hidden_frozen_and_eval(loss):
    holder = nn.Module()
    holder.net = nn.Conv2d(3, 3, 1)
    holder.loss = loss
    holder.train()
    assert not loss.clip.training
    assert set(holder.state_dict()) == {'net.weight', 'net.bias'}
    assert len(list(holder.parameters())) == 2
    holder.to(torch.float64)
    assert next(loss.clip.parameters()).dtype == torch.float64
    assert loss.text_direction.dtype == torch.float64


def test_registered_and_works_under_autocast(tiny_clip_name, device):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loss = MODELS.build(dict(type='CLIPHazeClearLoss', clip_model=tiny_clip_name,
                                 pretrained=None, input_range=(0, 1), loss_weight=2.0))
    loss.to(device)
    pred = torch.rand(2, 3, 20, 20, device=device, requires_grad=True)
    dtype = torch.float16 if device == 'cuda' else torch.bfloat16
    with torch.autocast(device, dtype=dtype):
        value = loss(pred, torch.rand(2, 3, 20, 20, device=device))
    value.backward()
    assert torch.isfinite(value) and 0 <= value.item() <= 4.0
    assert torch.isfinite(pred.grad).all()


def test_random_weights_warn(tiny_clip_name):
    with pytest.warns(UserWarning, match='RANDOMLY initialised'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None)


@pytest.fixture
def fake_tag(tiny_clip_name, monkeypatch):
    """An open_clip tag for the tiny model whose weights live on an unreachable hub repo."""
    from open_clip import pretrained as registry
    monkeypatch.setitem(registry._PRETRAINED, tiny_clip_name,
                        {'testtag': dict(hf_hub='mmbilalora-tests/no-such-repo/')})
    return 'testtag'


def test_offline_without_weights_fails_fast_with_instructions(tiny_clip_name, fake_tag,
                                                              monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.delenv('MMBILALORA_CLIP_WEIGHTS', raising=False)
    loss = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=fake_tag)  # loads nothing yet
    start = time.perf_counter()
    with pytest.raises(CLIPWeightsUnavailable) as err:
        loss(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    assert time.perf_counter() - start < 1.0
    assert 'MMBILALORA_CLIP_WEIGHTS' in str(err.value)
    assert 'mmbilalora-tests/no-such-repo' in str(err.value)


def test_weights_from_environment_variable_and_file(tiny_clip_name, fake_tag, monkeypatch,
                                                    tmp_path):
    torch.manual_seed(5)
    source = open_clip.create_model(tiny_clip_name)
    path = tmp_path / 'tiny.pt'
    torch.save(source.state_dict(), path)
    monkeypatch.setenv('MMBILALORA_CLIP_WEIGHTS', str(path))
    from_env = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=fake_tag)
    from_file = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=str(path))
    for loaded in (from_env, from_file):
        for key, value in source.state_dict().items():
            assert torch.equal(loaded.clip.state_dict()[key], value), key
    assert str(path) in from_env.weights_source and 'MMBILALORA_CLIP_WEIGHTS' in from_env.weights_source
    monkeypatch.setenv('MMBILALORA_CLIP_WEIGHTS', str(tmp_path / 'missing.pt'))
    with pytest.raises(FileNotFoundError, match='missing.pt'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=fake_tag)


def test_bad_arguments(tiny_clip_name):
    with pytest.raises(KeyError, match='Unknown open_clip model'):
        CLIPHazeClearLoss(clip_model='no-such-model', pretrained=None)
    with pytest.raises(FileNotFoundError, match='nowhere'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained='/nowhere/w.pt')
    with pytest.raises(KeyError, match='neither a file nor an open_clip tag'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained='not-a-tag')
    with pytest.raises(ValueError, match='pairs'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=(('a', ), ))


def test_prompt_weights_weigh_the_pairs(tiny_clip_name):
    def built(**kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.manual_seed(0)
            loss = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, **kwargs)
            loss.load_clip()
        return loss
    torch.manual_seed(3)
    pred, inp = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    first, second = (built(prompts=PROMPTS[k:k + 1])(pred, inp).item() for k in (0, 1))
    assert abs(first - second) > 1e-3  # the pairs give different losses
    weighted = built(prompts=PROMPTS, prompt_weights=(3.0, 1.0))(pred, inp).item()
    assert weighted == pytest.approx(0.75 * first + 0.25 * second, abs=1e-6)
    equal = built(prompts=PROMPTS)(pred, inp).item()
    assert equal == pytest.approx(0.5 * (first + second), abs=1e-6)
    # an adapter trained with it names its domain by the heaviest pairs only
    assert domain_prompts(built(prompts=PROMPTS, prompt_weights=(3.0, 1.0))) == [PROMPTS[0]]
    assert domain_prompts(built(prompts=PROMPTS)) == list(PROMPTS)
    for bad in ((1.0, ), (1.0, -1.0), (0.0, 0.0)):
        with pytest.raises(ValueError, match='prompt_weights'):
            CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS,
                              prompt_weights=bad)


def test_augmented_views_average_crop_and_flip_losses(tiny_clip_name):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.manual_seed(0)
        whole = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS)
        whole.load_clip()
        torch.manual_seed(0)
        views = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS,
                                  augment_views=6, augment_scale=(1.0, 1.0))
        views.load_clip()
    torch.manual_seed(2)
    pred = (torch.rand(2, 3, 32, 48) * 2 - 1).requires_grad_()
    inp = torch.rand(2, 3, 32, 48) * 2 - 1
    plain = whole(pred, inp).item()
    flipped = whole(pred.flip(-1), inp.flip(-1)).item()
    assert abs(plain - flipped) > 1e-4  # the random encoder is not mirror-symmetric
    torch.manual_seed(3)
    value = views(pred, inp)
    # Full-size views are the image or its mirror: the mean is (n * plain + (6 - n) * flipped) / 6.
    n = (value.item() - flipped) * 6 / (plain - flipped)
    assert n == pytest.approx(round(n), abs=1e-3) and 0 <= round(n) <= 6
    value.backward()
    assert pred.grad.abs().sum() > 0
    torch.manual_seed(3)
    assert views(pred, inp).item() == pytest.approx(value.item(), abs=1e-7)  # seeded


def test_augmented_views_crop_inside_the_image(loss):
    loss.augment_views, loss.augment_scale = 50, (0.25, 0.5)
    pred, inp = torch.rand(1, 3, 40, 60), torch.rand(1, 3, 40, 60)
    shapes = {tuple(v.shape[-2:]) for v, _ in loss.random_views(pred, inp)}
    assert all(10 <= h <= 20 and 15 <= w <= 30 for h, w in shapes) and len(shapes) > 5
    for view_pred, view_inp in loss.random_views(pred, pred.clone()):
        assert torch.equal(view_pred, view_inp)  # the same box and flip for pred and inp
    with pytest.raises(ValueError, match='same size'):
        loss(pred, torch.rand(1, 3, 40, 64))


def test_augment_arguments_are_checked(tiny_clip_name):
    with pytest.raises(ValueError, match='augment_views'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, augment_views=-1)
    with pytest.raises(ValueError, match='augment_scale'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, augment_scale=(0.0, 1.0))


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_reduced_precision_input_is_resized_in_float32(loss, device, dtype):
    """Under AMP the generator output arrives in float16 / bfloat16: it is resized in float32
    (CPU has no reduced-precision antialiased bicubic kernel) and lands within the input
    precision's rounding of its float32 copy (the range mapping before it ran in that precision)."""
    loss.to(device)
    torch.manual_seed(4)
    x = (torch.rand(2, 3, 40, 40, device=device) * 2 - 1).to(dtype)
    out = loss.to_clip_input(x, clamp=True, is_pred=True)
    assert out.dtype == torch.float32 and out.shape == (2, 3, 32, 32)
    torch.testing.assert_close(out, loss.to_clip_input(x.float(), clamp=True, is_pred=True),
                               rtol=0, atol=4 * torch.finfo(dtype).eps)


@pytest.mark.parametrize('precision', ['bfloat16', 'float16'])
def test_reduced_precision_clip_tower_stays_close_to_float32(tiny_clip_name, device, precision):
    """``clip_precision`` runs only the CLIP tower under autocast: loss and gradient move by the
    precision's rounding, not more (and the option is off by default)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        exact = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS)
        reduced = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, prompts=PROMPTS,
                                    clip_precision=precision)
        for loss in (exact, reduced):  # the same random tower in both (loaded lazily)
            torch.manual_seed(0)
            loss.load_clip()
    assert exact.clip_precision == 'float32'
    exact.to(device)
    reduced.to(device)
    torch.manual_seed(3)
    inp = (torch.rand(2, 3, 40, 40) * 2 - 1).to(device)
    pred = (inp * 0.8 + 0.1).requires_grad_()
    values, grads = [], []
    for loss in (exact, reduced):
        value = loss(pred, inp)
        (grad, ) = torch.autograd.grad(value, pred)
        values.append(value.item())
        grads.append(grad)
    assert values[0] != values[1]  # the tower really ran at the lower precision
    tolerance = 0.05 if precision == 'bfloat16' else 0.01
    assert abs(values[1] - values[0]) < tolerance * abs(values[0])
    assert ((grads[1] - grads[0]).norm() / grads[0].norm()).item() < 4 * tolerance
    with pytest.raises(ValueError, match='clip_precision'):
        CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None, clip_precision='half')
