"""OutputReportHook: output images and per-image / mean scores of a test run, in the work dir.

Writes (rank 0, atomically):

- ``<out_dir>/images/<relative input path>.png``: every output image (never onto an input file);
- ``<out_dir>/report.json``: ``{'mean': {metric: value}, 'images': [{'name', metric: {'input',
  'output'}}], 'failed': [{'input', 'reason'}], 'complete': bool}`` (per-image values come from
  no-reference metrics, which keep them; ``failed`` lists the files the dataset could not read,
  see ``ImageFolderDataset(skip_unreadable=True)``);
- ``<out_dir>/report.md``: a markdown table, input vs output per metric, then the means and the
  failures.

The report is also written during the run (every ``save_interval`` seconds, ``complete: false``)
so that an interrupted run can be resumed (a :class:`~mmbilalora.utils.run_report.RunReport`, as
``tools/dehaze.py``'s): with ``resume=True`` the rows of the previous report are kept for the
images not run again, and the means of no-reference metrics are recomputed over all rows.
``tools/test.py`` registers it unless ``--no-report`` is given (``--skip-existing`` resumes).
"""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

from mmagic.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...evaluation.metrics.no_reference import NoReferenceMetric, to_uint8_hwc
from ...utils.atomic_io import atomic_write_bytes
from ...utils.image_io import safe_output_path, write_rgb
from ...utils.run_report import RunReport


@HOOKS.register_module()
class OutputReportHook(Hook):
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
        self.report: Optional[RunReport] = None
        self.earlier: Dict[str, Dict] = {}
        self.mean: Dict[str, float] = {}

    def _root(self, runner) -> str:
        return self.out_dir or osp.join(runner.work_dir, 'test_report')

    def before_test(self, runner) -> None:
        self.report = RunReport(osp.join(self._root(runner), 'report.json'), key='name',
                                resume=self.resume, interval=self.save_interval)
        self.earlier = dict(self.report.rows)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.save_images and outputs:
            for sample in outputs:
                input_path = sample.metainfo.get('img_path') or sample.metainfo.get('gt_path')
                relative = sample.metainfo.get('key') or osp.basename(input_path or f'{batch_idx}')
                target = safe_output_path(osp.join(self._root(runner), 'images'), relative,
                                          input_path)
                write_rgb(target, to_uint8_hwc(sample.output.pred_img))
        if is_main_process() and self.report.due():
            self._update(runner, [m.results for m in self._metrics(runner)], {})
            self._write(complete=False)

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not is_main_process():
            return
        self._update(runner, [m.last_per_image for m in self._metrics(runner)], metrics or {})
        self._write(complete=True)

    @staticmethod
    def _metrics(runner) -> List[NoReferenceMetric]:
        return [m for m in runner.test_evaluator.metrics if isinstance(m, NoReferenceMetric)]

    def _update(self, runner, results: List[List[Dict]], metrics: Dict[str, float]) -> None:
        """The report's rows: the earlier report's (``resume``) updated with this run's
        ``{'name', metric: {'input', 'output'}}``; the means of no-reference metrics over all
        rows, other metrics as computed by this run; the dataset's unreadable files."""
        self.report.rows = dict(self.earlier)
        for metric, rows in zip(self._metrics(runner), results):
            for row in rows:
                entry = self.report.rows.setdefault(row['name'], dict(name=row['name']))
                entry[metric.metric] = {k: row[k] for k in ('input', 'output') if k in row}
        mean = {k: float(v) for k, v in metrics.items()}
        for metric in self._metrics(runner):
            for side, suffix in (('output', ''), ('input', '_input')):
                values = [r[metric.metric][side] for r in self.report.rows.values()
                          if side in r.get(metric.metric, {})]
                if values:
                    name = metric.metric + suffix
                    key = next((k for k in mean if k.split('/')[-1] == name), name)
                    mean[key] = float(np.nanmean(values))
        self.mean = mean
        self.report.failed = []
        loop = runner.test_loop
        for loader in getattr(loop, 'dataloaders', None) or [loop.dataloader]:
            for row in getattr(loader.dataset, 'unreadable', []):
                self.report.fail(row['input'], row['reason'])

    def _write(self, complete: bool) -> None:
        content = self.report.content(mean=self.mean, complete=complete)
        self.report.save(mean=self.mean, complete=complete)
        atomic_write_bytes(osp.join(osp.dirname(self.report.path), 'report.md'),
                           self.markdown(content).encode())

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
