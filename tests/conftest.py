"""Shared fixtures: sample photos written once per session, paths to ../shared."""
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(osp.dirname(ROOT), 'shared')


@pytest.fixture(scope='session')
def sample_split(tmp_path_factory):
    """Folder with train/ and val/ sub-folders of clear scikit-image photos."""
    from mmbilalora.utils.sample_images import write_sample_split
    out = tmp_path_factory.mktemp('sample')
    write_sample_split(str(out))
    return out


def shared_path(*parts: str) -> str:
    """A path under ../shared (beside the repository), skipping the test when it is absent."""
    path = osp.join(SHARED, *parts)
    if not osp.exists(path):
        pytest.skip(f'{path} is not available')
    return path
