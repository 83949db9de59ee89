"""benchmarks/adaptation_time.py: whole runs through the Runner, phase timing, breakdown, ratios."""
import importlib.util
import os.path as osp
import sys

import pytest

from conftest import ROOT


def load_benchmark():
    """The benchmark as ``python benchmarks/adaptation_time.py`` loads it: with its folder on
    ``sys.path`` (for its ``from timing import ...``)."""
    folder = osp.join(ROOT, 'benchmarks')
    spec = importlib.util.spec_from_file_location(
        'adaptation_time', osp.join(folder, 'adaptation_time.py'))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


bench = load_benchmark()


def test_schedule_helpers():
    assert bench.iters_per_epoch(10, 2) == 3  # 5 lower images
    assert bench.iters_per_epoch(9, 2) == 3  # 4 upper (round half to even), 5 lower
    assert bench.iters_per_epoch(4, 2) == 1
    assert bench.iters_per_epoch(96, 24) == 2
    assert bench.interleaved_order(3, ['i', 'ii', 'iii']) == [
        'i', 'ii', 'iii', 'iii', 'ii', 'i', 'i', 'ii', 'iii']


def fake_run(variant, phases, setup=1.0):
    return dict(variant=variant, setup=setup, trainable=1, kept=None, images=8,
                iters_per_epoch=2, phases={
        name: dict(time=t, cpu_time=t / 2, clock_time=t, iters=n, peak_mb=100.0,
                   passes=dict(forward=n, backward=n),
                   breakdown=dict(data=0.1 * n, dehazer_forward=0.2 * n,
                                  clip_forward_grad=0.1 * n, clip_backward=0.1 * n,
                                  other=t - 0.5 * n))
        for name, (t, n) in phases.items()})


def test_summary_ratios_medians_and_bounds():
    runs = dict(
        i=[fake_run('i', dict(search=(6.0, 2), finetune=(10.0, 10))),
           fake_run('i', dict(search=(8.0, 2), finetune=(12.0, 10)))],
        ii=[fake_run('ii', dict(train=(24.0, 12))), fake_run('ii', dict(train=(30.0, 12)))],
        iii=[fake_run('iii', dict(train=(18.0, 12))), fake_run('iii', dict(train=(18.0, 12)))])
    summary = bench.summarize(runs, search_epochs=1, finetune_epochs=5)
    assert summary['variants']['i']['train'] == pytest.approx(18.0)  # median of 16 and 20
    ratio = summary['ratios']['(i)/(ii)']
    assert ratio['median'] == pytest.approx(18.0 / 27.0)
    assert ratio['repeats'] == pytest.approx([16 / 24, 20 / 30])
    assert ratio['cpu_time'] == pytest.approx(9.0 / 13.5)
    assert summary['ratios']['(iii)/(ii)']['median'] == pytest.approx(18.0 / 27.0)
    b = summary['bounds']
    c, d, a = 3.5, 1.1, 2.25  # medians per iteration: search, fine-tune, full
    assert (b['search_per_iter'], b['finetune_per_iter'], b['full_per_iter']) == pytest.approx(
        (c, d, a))
    assert b['shared_per_iter'] == pytest.approx(0.5)
    assert b['free_search'] == pytest.approx(5 * d / (6 * a))
    assert b['shared_only'] == pytest.approx((c + 5 * 0.5) / (6 * a))
    assert b['floor'] == pytest.approx(5 * 0.5 / (6 * a))


def test_tables_of_a_saved_partial_report(tmp_path, capsys):
    """An interrupted run's JSON (two repeats of (i) and (ii), one of (iii)) prints the
    medians of the repeats every variant finished."""
    import json
    args = vars(bench.parse_args(['--device', 'cpu']))
    runs = dict(i=[fake_run('i', dict(search=(6.0, 2), finetune=(10.0, 10)))] * 2,
                ii=[fake_run('ii', dict(train=(24.0, 12))), fake_run('ii', dict(train=(8.0, 12)))],
                iii=[fake_run('iii', dict(train=(18.0, 12)))])
    path = tmp_path / 'report.json'
    path.write_text(json.dumps(dict(args=args, networks={'dea-net': dict(runs=runs)})))
    bench.print_saved(str(path))
    out = capsys.readouterr().out
    assert '(i)/(ii) = 0.667' in out and 'median of 1 interleaved' in out
    assert '(iii)/(ii) = 0.750' in out


def tiny_args(device, folder, tmp_path, clip_json, network='dea-net'):
    args = bench.parse_args([
        '--network', network, '--device', device, '--data', str(folder), '--batch', '2',
        '--crop', '32', '--search-epochs', '2', '--finetune-epochs', '1', '--workers', '0',
        '--clip-model', str(clip_json), '--work-dir', str(tmp_path)])
    args.network = network
    return args


@pytest.fixture(scope='module')
def clip_json(tmp_path_factory):
    import json

    from conftest import TINY_CLIP_CONFIG
    path = tmp_path_factory.mktemp('clipcfg') / 'mmbilalora-tiny-bench.json'
    path.write_text(json.dumps(TINY_CLIP_CONFIG))
    return path


@pytest.fixture(scope='module')
def hazy_folder(tmp_path_factory):
    return bench.write_hazy_folder(str(tmp_path_factory.mktemp('hazy')), 4, max_side=64)


def test_whole_runs_of_the_three_variants(device, hazy_folder, tmp_path, clip_json):
    """Each variant trains through the Runner for (2 + 1) epochs of 1 iteration (4 images:
    2 lower, batch 2), (i) keeping the given blocks; phases, passes (the config's update order,
    Algorithm 1: upper, lower, lower again), breakdown and trainable weights come back."""
    args = tiny_args(device, hazy_folder, tmp_path, clip_json)
    args.keep = ['level3_block2', 'level3_block4', 'level3_block5']
    runs = {v: bench.run_variant(args, v) for v in ('i', 'ii', 'iii')}
    i, ii, iii = runs['i'], runs['ii'], runs['iii']
    assert i['iters_per_epoch'] == 1 and i['images'] == 4
    assert list(i['phases']) == ['first', 'search', 'finetune']
    assert list(ii['phases']) == list(iii['phases']) == ['first', 'train']
    assert [i['phases'][p]['iters'] for p in ('first', 'search', 'finetune')] == [1, 1, 1]
    assert ii['phases']['train']['iters'] == iii['phases']['train']['iters'] == 2
    search = i['phases']['search']['passes']
    assert search == dict(forward=3, backward=3)
    assert i['phases']['first']['passes'] == search
    assert i['phases']['finetune']['passes'] == dict(forward=1, backward=1)
    assert ii['phases']['train']['passes'] == dict(forward=2, backward=2)
    assert i['kept'] == args.keep and i['teardown'] > 0
    assert ii['trainable'] == 3_653_377 > iii['trainable'] == 405_504
    assert i['trainable'] < iii['trainable']
    for run in runs.values():
        for phase in run['phases'].values():
            parts = phase['breakdown']
            assert phase['time'] > 0 and phase['peak_mb'] > 0
            assert parts['dehazer_forward'] > 0 and parts['dehazer_backward'] > 0
            assert parts['clip_forward_grad'] > 0 and parts['clip_forward_nograd'] > 0
            assert parts['optimizer'] > 0 and parts['data'] >= 0
            assert parts['other'] >= -1e-3  # the named parts never exceed the phase time
    summary = bench.summarize({k: [v] for k, v in runs.items()}, 1, 1)
    assert summary['ratios']['(i)/(ii)']['median'] == pytest.approx(
        bench.train_time(i) / bench.train_time(ii))
