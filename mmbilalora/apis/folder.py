"""Dehazing many photos: a folder (or a list of files) into an output folder, resumably."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from ..datasets import scan_images
from ..utils.image_io import read_rgb, safe_output_path, write_rgb
from ..utils.run_report import RunReport
from .inference import Dehazer, dehaze_array
from .routing import PromptRouter

BASE, AUTO = 'base', 'auto'
REPORT = 'report.json'
OnImage = Callable[[Dict, np.ndarray, np.ndarray], None]
OnProgress = Callable[[float, int], None]
BAR_FORMAT = '{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.0f} photos [{elapsed}<{remaining}]'


@dataclass
class FolderRun:
    """What :func:`dehaze_folder` did: the rows of the photos written in this run, the photos
    left as they were (``skipped``: their output existed) and the ``failed`` ones (input and
    reason); ``report`` is the path of the run's report."""
    report: str
    written: List[Dict] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed: List[Dict[str, str]] = field(default_factory=list)


def list_inputs(inputs: Union[str, Sequence[str]]) -> Tuple[str, List[str]]:
    """``(root, files)`` of a folder (searched recursively), an image file or a list of files;
    outputs are named by their path relative to ``root``.

    Raises:
        FileNotFoundError: a folder or file that does not exist. ValueError: no images.
    """
    if isinstance(inputs, str):
        if osp.isdir(inputs):
            return inputs, scan_images(inputs)
        if not osp.isfile(inputs):
            raise FileNotFoundError(f'Input not found: {inputs!r}')
        return osp.dirname(inputs), [inputs]
    files = list(inputs)
    if not files:
        raise ValueError('No input photos given.')
    return osp.commonpath([osp.dirname(osp.abspath(f)) for f in files]), files


def check_route(route: str, names: Sequence[str]) -> None:
    """Raise ValueError unless ``route`` is ``'base'``, ``'auto'`` (two adapters or more) or an
    adapter name."""
    if route not in (BASE, AUTO, *names):
        raise ValueError(f'route {route!r} is not {BASE!r}, {AUTO!r} or an adapter name '
                         f'{list(names)}')
    if route == AUTO and len(names) < 2:
        raise ValueError('route auto needs at least two adapters')


def dehaze_folder(dehazer: Dehazer, inputs: Union[str, Sequence[str]], out_dir: str,
                  route: str = BASE, router: Optional[PromptRouter] = None,
                  skip_existing: bool = False, grid: bool = False, tile: Optional[int] = 512,
                  overlap: int = 32, pad_multiple: int = 32, resize_multiple: int = 0,
                  progress: bool = True, on_image: Optional[OnImage] = None,
                  on_progress: Optional[OnProgress] = None) -> FolderRun:
    """Dehaze every photo of ``inputs`` (see :func:`list_inputs`) into ``out_dir``.

    Each output is a PNG of the input's size at the input's relative path (an input is never
    overwritten; ``grid=True`` also writes ``<name>_compare.jpg``, input | output), written
    atomically. ``route`` picks the model per photo: ``'base'``, an adapter of
    ``dehazer.adapters`` or ``'auto'`` (the adapter whose prompts best match the photo under the
    guidance CLIP: ``router``, by default a :class:`PromptRouter` of the adapters' prompts).
    ``out_dir/report.json`` lists every photo (input, output, adapter, routing scores) and
    every failure, and is written during the run too; ``skip_existing=True`` resumes a run: a
    photo whose output exists is left as it is and keeps its row. A photo that cannot be read
    or dehazed does not stop the run: it is listed in ``failed``. ``progress`` shows a progress
    bar (photos done, counting the tiles of the photo in hand, and the time left);
    ``on_progress(photos_done, photos)`` is called as the bar moves (photos_done a float) and
    ``on_image(row, input_rgb, output_rgb)`` after each photo written. Tiling arguments: see
    :func:`dehaze_array`.

    Raises:
        ValueError: ``out_dir`` is the input folder, or ``route`` is unknown.
    """
    root, files = list_inputs(inputs)
    if osp.realpath(out_dir) == osp.realpath(root):
        raise ValueError(f'The output folder {out_dir!r} is the input folder; choose another '
                         'so that no input is overwritten.')
    bank = dehazer.adapters
    check_route(route, bank.names)
    if route == AUTO and router is None:
        router = PromptRouter({n: [p[0] for p in bank.info(n)['prompts']] for n in bank.names},
                              device=dehazer.device)
    report = RunReport(osp.join(out_dir, REPORT), resume=skip_existing)
    fields = dict(route=route, guidance=router.guidance if route == AUTO else None,
                  adapters={n: bank.info(n) for n in bank.names})
    run = FolderRun(report.path)
    bar = tqdm(total=len(files), desc='dehazing', bar_format=BAR_FORMAT, disable=not progress)
    done = 0.0  # photos done, counting the tiles of the one in hand

    def advance(position: float) -> None:
        nonlocal done
        if position > done:
            bar.update(position - done)
            done = position
            if on_progress is not None:
                on_progress(position, len(files))

    try:  # the report is written at the end, also after Ctrl-C
        for index, path in enumerate(files):
            relative = osp.relpath(path, root)
            try:
                target = safe_output_path(out_dir, relative, path)
                if skip_existing and osp.isfile(target):
                    report.rows.setdefault(relative, dict(
                        input=relative, output=osp.relpath(target, out_dir)))
                    run.skipped.append(relative)
                    continue
                rgb = read_rgb(path)
                row = dict(input=relative, output=osp.relpath(target, out_dir), adapter=route)
                if route == AUTO:
                    row['adapter'], row['route_scores'] = router.route(rgb)
                bank.activate(None if row['adapter'] == BASE else row['adapter'])
                result = dehaze_array(
                    dehazer, rgb, tile=tile, overlap=overlap, pad_multiple=pad_multiple,
                    resize_multiple=resize_multiple,
                    progress=lambda tiles_done, tiles, i=index: advance(i + tiles_done / tiles))
                write_rgb(target, result)
                if grid:
                    write_rgb(osp.join(out_dir, osp.splitext(relative)[0] + '_compare.jpg'),
                              np.concatenate([rgb, result], axis=1))
                report.add(row)
                run.written.append(row)
                if on_image is not None:
                    on_image(row, rgb, result)
            except Exception as err:  # one bad file must not stop the batch
                report.fail(relative, f'{type(err).__name__}: {err}')
            finally:
                advance(index + 1)
            report.save_if_due(**fields)
    finally:
        bar.close()
        report.save(**fields)
    run.failed = report.failed
    return run
