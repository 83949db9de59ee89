"""TestReportHook: output images and per-image / mean scores of a test run, in the work dir.

Writes (rank 0, atomically):

- ``<out_dir>/images/<relative input path>.png``: every output image (never onto an input file);
- ``<out_dir>/report.json``: ``{'mean': {metric: value}, 'images': [{'name', metric: {'input',
  'output'}}], 'failed': [{'input', 'reason'}], 'complete': bool}`` (per-image values come from
  no-reference metrics, which keep them; ``failed`` lists the files the dataset could not read,
  see ``ImageFolderDataset(skip_unreadable=True)``);
- ``<out_dir>/report.md``: a markdown table, input vs output per metric, then the means and the
  failures.

The report is also written during the run (every ``save_interval`` seconds, ``complete: false``)
so that an interrupted run can be resumed: with ``resume=True`` the rows of the previous report
are kept for the images not run again, and the means of no-reference metrics are recomputed over
all rows. ``tools/test.py`` registers it unless ``--no-report`` is given (``--skip-existing``
resumes).
"""
import json
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np

from mmagic.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...evaluation.metrics.no_reference import NoReferenceMetric, to_uint8_hwc
from ...utils.atomic_io import atomic_dump_json, atomic_write_bytes
from ...utils.image_io import safe_output_path, write_rgb


@HOOKS.register_module()
class TestReportHook(Hook):
    """Save test outputs and a per-image report.

    Args:
        out_dir: report folder (default: ``<work_dir>/test_report``).
        save_images: also write the output images.
        resume: keep the rows of the report already in ``out_dir`` (see module docstring).
        save_interval: seconds between reports written during the run.
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None, save_images: bool = True,
                 resume: bool = False, save_interval: float = 60.0):
        self.out_dir = out_dir
        self.save_images = save_images
        self.resume = resume
        self.save_interval = save_interval
        self._last_save = time.monotonic()

    def _root(self, runner) -> str:
        return self.out_dir or osp.join(runner.work_dir, 'test_report')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.save_images and outputs:
            for sample in outputs:
                input_path = sample.metainfo.get('img_path') or sample.metainfo.get('gt_path')
                relative = sample.metainfo.get('key') or osp.basename(input_path or f'{batch_idx}')
                target = safe_output_path(osp.join(self._root(runner), 'images'), relative,
                                          input_path)
                write_rgb(target, to_uint8_hwc(sample.output.pred_img))
        if is_main_process() and time.monotonic() - self._last_save > self.save_interval:
            rows = self._rows(runner, [m.results for m in self._metrics(runner)])
            self._write(runner, self._merge(runner, rows, {}), complete=False)
            self._last_save = time.monotonic()

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not is_main_process():
            return
        rows = self._rows(runner, [m.last_per_image for m in self._metrics(runner)])
        self._write(runner, self._merge(runner, rows, metrics or {}), complete=True)

    @staticmethod
    def _metrics(runner) -> List[NoReferenceMetric]:
        return [m for m in runner.test_evaluator.metrics if isinstance(m, NoReferenceMetric)]

    def _rows(self, runner, results: List[List[Dict]]) -> Dict[str, Dict]:
        """Per-image rows ``{name: {'name', metric: {'input', 'output'}}}``."""
        per_image: Dict[str, Dict] = {}
        for metric, rows in zip(self._metrics(runner), results):
            for row in rows:
                entry = per_image.setdefault(row['name'], dict(name=row['name']))
                entry[metric.metric] = {k: row[k] for k in ('input', 'output') if k in row}
        return per_image

    def previous_rows(self, runner) -> Dict[str, Dict]:
        """Rows of the report already in the output folder (empty unless ``resume``)."""
        path = osp.join(self._root(runner), 'report.json')
        if not self.resume or not osp.isfile(path):
            return {}
        try:
            with open(path) as f:
                return {row['name']: row for row in json.load(f).get('images', [])}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _merge(self, runner, rows: Dict[str, Dict], metrics: Dict[str, float]) -> Dict:
        """The report: previous rows (``resume``) updated with this run's rows; the means of
        no-reference metrics over all rows, other metrics as computed by this run."""
        merged = {**self.previous_rows(runner), **rows}
        mean = {k: float(v) for k, v in metrics.items()}
        for metric in self._metrics(runner):
            for side, suffix in (('output', ''), ('input', '_input')):
                values = [r[metric.metric][side] for r in merged.values()
                          if side in r.get(metric.metric, {})]
                if values:
                    name = metric.metric + suffix
                    key = next((k for k in mean if k.split('/')[-1] == name), name)
                    mean[key] = float(np.nanmean(values))
        failed = []
        loop = runner.test_loop
        for loader in getattr(loop, 'dataloaders', None) or [loop.dataloader]:
            failed += list(getattr(loader.dataset, 'unreadable', []))
        return dict(mean=mean, images=list(merged.values()), failed=failed)

    def _write(self, runner, report: Dict, complete: bool) -> None:
        report['complete'] = complete
        root = self._root(runner)
        atomic_dump_json(report, osp.join(root, 'report.json'))
        atomic_write_bytes(osp.join(root, 'report.md'), self.markdown(report).encode())

    @staticmethod
    def markdown(report: Dict) -> str:
        """Input vs output per metric for every image, then the means."""
        names: List[str] = []
        for image in report['images']:
            names += [k for k in image if k != 'name' and k not in names]
        lines = ['# Test report', '']
        if report['images']:
            header = ['image'] + [f'{n} {side}' for n in names for side in ('input', 'output')]
            lines += ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
            for image in report['images']:
                cells = [image['name']]
                for n in names:
                    values = image.get(n, {})
                    cells += [f'{values[s]:.4f}' if s in values else '' for s in ('input',
                                                                                   'output')]
                lines.append('| ' + ' | '.join(cells) + ' |')
            lines.append('')
        lines += ['| metric | mean |', '| --- | --- |']
        lines += [f'| {k} | {v:.4f} |' for k, v in report['mean'].items()]
        if report.get('failed'):
            lines += ['', f'{len(report["failed"])} image(s) could not be read:', '']
            lines += [f'- {row["input"]}: {row["reason"]}' for row in report['failed']]
        return '\n'.join(lines) + '\n'
