"""The UI's actions without a browser (mmbilalora.apis.DehazeSession; no gradio needed):
dehazing with base / adapter, failures reported, and adapting to uploaded photos with progress."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmbilalora.apis import DehazeSession
from test_everyday_use import write_photos


def test_adapt_adds_a_new_adapter_with_progress_and_it_dehazes(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    monkeypatch.delenv('MMBILALORA_CLIP_WEIGHTS', raising=False)
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'no_hf_cache'))  # guidance: the compact CLIP
    photos = write_photos(str(tmp_path / 'uploads'), 2, size=(80, 112))
    broken = tmp_path / 'uploads' / 'broken.png'
    broken.write_bytes(b'\x89PNG')
    session = DehazeSession(work_dir=str(tmp_path / 'ui'))
    assert session.choices() == ['base']
    done = []
    base_results, failures = session.dehaze_files(photos + [str(broken)], 'base',
                                                  progress=lambda i, n: done.append((i, n)))
    assert [f['input'] for f in failures] == ['broken.png']
    assert done == [(1, 3), (2, 3), (3, 3)]  # one tile each; the broken file counts too
    assert [r['after'].shape for r in base_results] == [(80, 112, 3)] * 2

    calls = []
    torch.manual_seed(0)
    path = session.adapt(photos, 'mine', iters=4, search=2, crop=64,
                         progress=lambda i, n, phase: calls.append((i, n, phase)))
    assert calls == [(1, 4, 'search'), (2, 4, 'search'), (3, 4, 'fine-tune'),
                     (4, 4, 'fine-tune')]
    assert osp.isfile(path) and session.choices() == ['base', 'mine']
    info = session.bank.info('mine')
    assert info['prompts'] == [('a photo with haze', 'a clear photo')]
    assert 'adapted in the UI to 2 photo(s)' in info['description']
    assert 'compact haze-aware CLIP' in info['description']
    assert len(info['selected_blocks']) == 3

    adapted, failures = session.dehaze_files(photos, 'mine')
    assert not failures and [r['adapter'] for r in adapted] == ['mine', 'mine']
    for before, after in zip(base_results, adapted):
        assert after['after'].shape == before['after'].shape
        written = cv2.imread(after['output'])[..., ::-1]
        assert np.array_equal(written, after['after'])
    with pytest.raises(ValueError, match='new adapter name'):
        session.adapt(photos, 'mine')
