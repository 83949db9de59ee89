"""Everyday use: quiet base loading, clear errors on bad files, robust and resumable batches,
adapters and routing in tools/dehaze.py, testing a BiLaLoRA config offline without CLIP."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import ROOT
from mmbilalora.utils import model_zoo
from test_adapter_bank import (DAY_PROMPTS, NIGHT_PROMPTS, day_and_night_images, make_adapter,
                               shipped_generator)

BILALORA_CONFIG = osp.join(ROOT, 'configs', 'bilalora', 'dehazeformer_rtts.py')
BASE_CONFIG = model_zoo.config_path(model_zoo.SHIPPED_BASE)
BASE_CHECKPOINT = model_zoo.model_path(model_zoo.SHIPPED_BASE)
OFFLINE = dict(HF_HUB_OFFLINE='1', MMBILALORA_OFFLINE='1')


def run_tool(script, *args, env=None, expect=0):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env={k: v for k, v in {**os.environ, **(env or {})}.items()
                               if k != 'MMBILALORA_CLIP_WEIGHTS'})
    assert proc.returncode == expect, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def build_bilalora_model():
    init_default_scope('mmagic')
    return MODELS.build(Config.fromfile(BILALORA_CONFIG).model)


# ------------------------------------------------------------------ 1. quiet, informative loading
def test_base_checkpoint_loads_in_one_line_and_partial_adapters_stay_loud(monkeypatch):
    from mmengine.runner.checkpoint import load_state_dict

    import mmbilalora.models.editors.bilalora_dehazer as editor
    lines = []
    monkeypatch.setattr(editor, 'print_log', lambda msg, **kw: lines.append(msg))
    monkeypatch.setattr('mmengine.runner.checkpoint.print_log',
                        lambda msg, **kw: lines.append(msg))
    model = build_bilalora_model()
    state = model.state_dict()
    lora = [k for k in state if k.endswith(('lora_A', 'lora_B'))]
    gates = [k for k in state if k.endswith('lora_gate.alpha')]
    base = {k: v for k, v in state.items() if k not in lora and k not in gates}
    load_state_dict(model, base)
    assert lines == [f'Base weights loaded; {len(lora)} LoRA and {len(gates)} gate tensors '
                     'start fresh.']
    lines.clear()
    partial = {k: v for k, v in state.items() if k != lora[0]}
    load_state_dict(model, partial)
    assert len(lines) == 1 and 'missing keys in source state_dict' in lines[0]
    assert lora[0] in lines[0] and 'Base weights loaded' not in lines[0]
    lines.clear()
    without_base_weight = {k: v for k, v in base.items() if not k.endswith('conv.weight')}
    load_state_dict(model, without_base_weight)
    assert any('missing keys' in line and 'conv.weight' in line for line in lines)


def test_corrupt_or_foreign_files_get_our_message_only(tmp_path):
    from mmbilalora.utils.checkpoint_io import CheckpointReadError, read_checkpoint
    from mmbilalora.models.lora import read_adapter
    garbage = tmp_path / 'photo.pth'
    garbage.write_bytes(b'\xff\xd8\xff\xe0 not a checkpoint' * 10)
    foreign = tmp_path / 'foreign.pth'
    torch.save(dict(state_dict={}, args=argparse.Namespace(lr=1)), foreign)
    truncated = tmp_path / 'truncated.pth'
    torch.save(dict(w=torch.zeros(100)), truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    for path, reason in ((garbage, 'not a PyTorch checkpoint'),
                         (foreign, 'argparse.Namespace'),
                         (truncated, 'not a PyTorch checkpoint, or truncated')):
        with pytest.raises(CheckpointReadError) as err:
            read_checkpoint(str(path))
        message = str(err.value)
        assert reason in message and str(path) in message
        assert 'weights_only' not in message and '\n' not in message
        assert err.value.__cause__ is None and err.value.__context__ is None  # no torch text
        with pytest.raises(ValueError) as err:
            read_adapter(str(path))
        assert reason in str(err.value) and 'weights_only' not in str(err.value)
    photos = write_photos(str(tmp_path / 'photos'), 1)
    _, stderr = run_tool('dehaze.py', photos[0], '--config', BASE_CONFIG, '--checkpoint',
                         str(garbage), '--out', str(tmp_path / 'out'), expect=1)
    assert f"error: Cannot read checkpoint '{garbage}'" in stderr
    assert 'weights_only' not in stderr and 'Traceback' not in stderr
    _, stderr = run_tool('test.py', BILALORA_CONFIG, str(garbage), '--work-dir',
                         str(tmp_path / 'work'), '--cfg-options',
                         f'test_dataloader.dataset.data_root={tmp_path / "photos"}',
                         'test_dataloader.num_workers=0', 'test_evaluator.0.type=Entropy',
                         env=OFFLINE, expect=1)
    assert f"error: Cannot read checkpoint '{garbage}'" in stderr
    assert 'weights_only' not in stderr and 'Traceback' not in stderr


def test_a_checkpoint_of_another_model_is_refused_in_one_line(tmp_path):
    """The shipped base's checkpoint into a plain DehazeFormer config, and a bare DehazeFormer's
    into the shipped config: one line naming both files, the first mismatching key and what the
    file is."""
    photos = write_photos(str(tmp_path / 'photos'), 1)
    plain_config = osp.join(ROOT, 'configs', 'dehazeformer', 'dehazeformer-t_synhaze.py')
    _, stderr = run_tool('dehaze.py', photos[0], '--config', plain_config, '--checkpoint',
                         BASE_CHECKPOINT, '--out', str(tmp_path / 'out'), expect=1)
    assert stderr.strip().splitlines() == [
        f"error: Checkpoint {BASE_CHECKPOINT!r} does not fit the model of config "
        f"{plain_config!r} (DehazeFormer): patch_embed.proj.weight is missing. It holds a "
        'PriorRefinedDehazer (network.* keys): use its config, e.g. '
        'configs/dehazeformer/dcp-dehazeformer-t-conv_synhaze_clear-pristine.py.']
    network = torch.load(BASE_CHECKPOINT, weights_only=True)
    bare = tmp_path / 'network.pth'
    torch.save({k.replace('generator.network.', ''): v
                for k, v in network['state_dict'].items()}, bare)
    _, stderr = run_tool('dehaze.py', photos[0], '--config', BASE_CONFIG, '--checkpoint',
                         str(bare), '--out', str(tmp_path / 'out'), expect=1)
    assert len(stderr.strip().splitlines()) == 1
    assert 'network.patch_embed.proj.weight is missing' in stderr
    assert 'tools/convert_dehazeformer_checkpoint.py converts it' in stderr
    assert not (tmp_path / 'out').exists()


# ------------------------------------------------------------------ 4. testing needs no CLIP
def test_clip_loads_only_when_a_loss_value_is_needed(monkeypatch, tiny_clip_name):
    from mmbilalora.models.guidance import CLIPWeightsUnavailable, local_clip_weights
    from mmbilalora.models.losses import CLIPHazeClearLoss
    for key, value in OFFLINE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv('MMBILALORA_CLIP_WEIGHTS', raising=False)
    model = build_bilalora_model()  # pretrained='openai', offline: building must not need it
    assert not model.unsupervised_loss.clip_loaded
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        model.generator(x)
    assert not model.unsupervised_loss.clip_loaded
    if local_clip_weights() is None:
        with pytest.raises(CLIPWeightsUnavailable):
            model.unsupervised_loss(x, x)
    loss = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None)
    assert not loss.clip_loaded
    value = loss(x, x.flip(-1))  # the first loss value builds CLIP
    assert loss.clip_loaded and 0 <= float(value) <= 2
    later = CLIPHazeClearLoss(clip_model=tiny_clip_name, pretrained=None)
    later.to(torch.float64)  # placement given before the build is applied at the build
    later.load_clip()
    assert next(later.clip.parameters()).dtype == torch.float64
    assert later.text_direction.dtype == torch.float64 and later.image_size == (32, 32)


def write_photos(folder, count, size=(100, 132)):
    os.makedirs(folder, exist_ok=True)
    from mmbilalora.datasets.sample_images import load_skimage_photos
    paths = []
    for i, photo in enumerate(list(load_skimage_photos().values())[:count]):
        path = osp.join(folder, f'photo{i}.png')
        cv2.imwrite(path, cv2.resize(photo, size[::-1])[..., ::-1])
        paths.append(path)
    return paths


def test_bilalora_config_tests_a_base_checkpoint_offline_and_resumes(tmp_path):
    """The user's command, offline: tools/test.py on the BiLaLoRA config (pretrained='openai')
    with registry metrics; a corrupt file is listed, not fatal; --skip-existing resumes."""
    data = tmp_path / 'hazy'
    write_photos(str(data), 2)
    (data / 'broken.jpg').write_bytes(b'not a jpeg')
    work = tmp_path / 'work'
    options = ['--work-dir', str(work), '--cfg-options',
               f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
               'test_evaluator.0.type=PyIQAMetric', 'test_evaluator.0.metric_name=piqe']
    stdout, stderr = run_tool('test.py', BILALORA_CONFIG, BASE_CHECKPOINT, *options,
                              env=OFFLINE, expect=1)
    log = stdout + stderr
    assert 'Base weights loaded; ' in log and 'missing keys' not in log
    assert 'CLIPHazeClearLoss guidance weights' not in log
    assert '1 image(s) could not be read' in stderr and 'broken.jpg' in stderr
    report = json.loads((work / 'test_report' / 'report.json').read_text())
    assert report['complete'] and [r['input'] for r in report['failed']] == ['broken.jpg']
    assert sorted(r['name'] for r in report['images']) == ['photo0.png', 'photo1.png']
    for name in ('photo0', 'photo1'):
        output = cv2.imread(str(work / 'test_report' / 'images' / f'{name}.png'))
        assert output.shape == (100, 132, 3)
    first = {r['name']: r for r in report['images']}

    (data / 'broken.jpg').unlink()
    write_photos(str(tmp_path / 'more'), 3)
    os.replace(tmp_path / 'more' / 'photo2.png', data / 'photo2.png')
    stdout, stderr = run_tool('test.py', BILALORA_CONFIG, BASE_CHECKPOINT, *options,
                              '--skip-existing', env=OFFLINE)
    assert '--skip-existing: 2 image(s) already done' in stdout + stderr
    report = json.loads((work / 'test_report' / 'report.json').read_text())
    rows = {r['name']: r for r in report['images']}
    assert sorted(rows) == ['photo0.png', 'photo1.png', 'photo2.png'] and not report['failed']
    assert rows['photo0.png'] == first['photo0.png']  # kept, not recomputed
    for metric in ('PIQE', 'NIQE', 'Entropy'):
        assert report['mean'][metric] == pytest.approx(
            np.mean([r[metric]['output'] for r in rows.values()]))
        assert report['mean'][f'{metric}_input'] == pytest.approx(
            np.mean([r[metric]['input'] for r in rows.values()]))


# ------------------------------------------------------------------ 2. + 3. tools/dehaze.py
@pytest.fixture(scope='module')
def day_night_adapters(tmp_path_factory):
    folder = tmp_path_factory.mktemp('bank')
    return dict(
        day=make_adapter(folder / 'day.pth', ['network.layer3.blocks.*'], 8, 1, DAY_PROMPTS,
                         'daytime haze', 0.5, generator=shipped_generator()),
        night=make_adapter(folder / 'night.pth', ['network.layer2.blocks.*'], 4, 2,
                           NIGHT_PROMPTS, 'nighttime haze', -0.3, generator=shipped_generator()))


def test_dehaze_tool_routes_reports_survives_bad_files_and_resumes(day_night_adapters, tmp_path):
    from mmbilalora.apis import dehaze_array, load_dehazer
    from mmbilalora.models.lora import load_adapter
    inputs = tmp_path / 'in'
    (inputs / 'sub').mkdir(parents=True)
    day, night = day_and_night_images(size=96)
    cv2.imwrite(str(inputs / 'day0.png'), day[0][:80, :, ::-1])
    cv2.imwrite(str(inputs / 'sub' / 'night0.png'), night[1][..., ::-1])
    (inputs / 'broken.png').write_bytes(b'\x89PNG truncated')
    (inputs / 'empty.jpg').write_bytes(b'')
    out = tmp_path / 'out'
    args = [str(inputs), '--config', BASE_CONFIG, '--checkpoint', BASE_CHECKPOINT,
            '--adapter', f'day={day_night_adapters["day"]}',
            '--adapter', f'night={day_night_adapters["night"]}', '--route', 'auto',
            '--out', str(out)]
    # routing uses the guidance CLIP: force the compact one even where real CLIP is cached
    env = dict(OFFLINE, HF_HOME=str(tmp_path / 'no_hf_cache'))
    stdout, stderr = run_tool('dehaze.py', *args, env=env, expect=1)
    assert 'routing by prompts with compact haze-aware CLIP' in stdout
    assert '2 photo(s) failed' in stderr and 'broken.png' in stderr and 'empty.jpg' in stderr
    report = json.loads((out / 'report.json').read_text())
    rows = {r['input']: r for r in report['images']}
    assert {r['input'] for r in report['failed']} == {'broken.png', 'empty.jpg'}
    assert rows['day0.png']['adapter'] == 'day'
    assert rows[osp.join('sub', 'night0.png')]['adapter'] == 'night'
    assert set(rows['day0.png']['route_scores']) == {'day', 'night'}
    assert report['adapters']['night']['prompts'] == [list(p) for p in NIGHT_PROMPTS]
    # each output equals the chosen adapter loaded alone on the base
    for relative, source in (('day0.png', day[0][:80]), (osp.join('sub', 'night0.png'),
                                                         night[1])):
        written = cv2.imread(str(out / relative))[..., ::-1]
        dehazer = load_dehazer(BASE_CONFIG, BASE_CHECKPOINT)
        load_adapter(dehazer.generator, day_night_adapters[rows[relative]['adapter']])
        assert written.shape == source.shape
        assert np.array_equal(written, dehaze_array(dehazer, source))

    before = {p: osp.getmtime(out / p) for p in rows}
    (inputs / 'broken.png').unlink()
    (inputs / 'empty.jpg').unlink()
    stdout, _ = run_tool('dehaze.py', *args, '--skip-existing', env=env)
    assert '0 photo(s) written' in stdout and '2 skipped (output exists)' in stdout
    assert {p: osp.getmtime(out / p) for p in rows} == before
    resumed = json.loads((out / 'report.json').read_text())
    assert resumed['images'] == report['images'] and resumed['failed'] == []


def test_a_folder_run_counts_the_tiles_of_a_large_photo_in_its_progress(tmp_path, capsys):
    from mmbilalora.apis import dehaze_folder, load_dehazer
    inputs = tmp_path / 'in'
    inputs.mkdir()
    day, _ = day_and_night_images(size=128)
    cv2.imwrite(str(inputs / 'a_large.png'), day[0][:96, :, ::-1])  # 2 x 3 tiles of 64
    cv2.imwrite(str(inputs / 'b_small.png'), day[1][:40, :40, ::-1])  # one tile
    (inputs / 'c_broken.png').write_bytes(b'\x89PNG truncated')
    calls = []
    run = dehaze_folder(load_dehazer(), str(inputs), str(tmp_path / 'out'), tile=64, overlap=16,
                        on_progress=lambda done, total: calls.append((done, total)))
    assert [f['input'] for f in run.failed] == ['c_broken.png']
    assert calls == [(i / 6, 3) for i in range(1, 7)] + [(2.0, 3), (3.0, 3)]
    bar = capsys.readouterr().err
    assert '100%' in bar and '3.0/3 photos' in bar
