"""TestReportHook: output images and per-image / mean scores of a test run, in the work dir.

Writes (rank 0, atomically):

- ``<out_dir>/images/<relative input path>.png``: every output image (never onto an input file);
- ``<out_dir>/report.json``: ``{'mean': {metric: value}, 'images': [{'name', metric: {'input',
  'output'}}]}`` (per-image values come from no-reference metrics, which keep them);
- ``<out_dir>/report.md``: a markdown table, input vs output per metric, then the means.

``tools/test.py`` registers it unless ``--no-report`` is given.
"""
import os.path as osp
from typing import Dict, List, Optional

from mmagic.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...evaluation.metrics.no_reference import NoReferenceMetric, to_uint8_hwc
from ...utils.atomic_io import atomic_dump_json, atomic_write_bytes
from ...utils.image_io import write_rgb


def safe_output_path(out_root: str, relative: str, input_path: Optional[str]) -> str:
    """``out_root/relative`` with a .png suffix; refuses to point at the input file itself."""
    target = osp.join(out_root, osp.splitext(relative)[0] + '.png')
    if input_path and osp.realpath(target) == osp.realpath(input_path):
        raise ValueError(f'Refusing to overwrite the input image {input_path!r}; choose an output '
                         'folder outside the input folder.')
    return target


@HOOKS.register_module()
class TestReportHook(Hook):
    """Save test outputs and a per-image report.

    Args:
        out_dir: report folder (default: ``<work_dir>/test_report``).
        save_images: also write the output images.
    """

    priority = 'LOW'

    def __init__(self, out_dir: Optional[str] = None, save_images: bool = True):
        self.out_dir = out_dir
        self.save_images = save_images

    def _root(self, runner) -> str:
        return self.out_dir or osp.join(runner.work_dir, 'test_report')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.save_images or not outputs:
            return
        for sample in outputs:
            input_path = sample.metainfo.get('img_path') or sample.metainfo.get('gt_path')
            relative = sample.metainfo.get('key') or osp.basename(input_path or f'{batch_idx}')
            target = safe_output_path(osp.join(self._root(runner), 'images'), relative,
                                      input_path)
            write_rgb(target, to_uint8_hwc(sample.output.pred_img))

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if not is_main_process():
            return
        per_image: Dict[str, Dict] = {}
        for metric in runner.test_evaluator.metrics:
            if not isinstance(metric, NoReferenceMetric):
                continue
            for row in metric.last_per_image:
                entry = per_image.setdefault(row['name'], dict(name=row['name']))
                entry[metric.metric] = {k: row[k] for k in ('input', 'output') if k in row}
        report = dict(mean={k: float(v) for k, v in (metrics or {}).items()},
                      images=list(per_image.values()))
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
        return '\n'.join(lines) + '\n'
