"""Browser UI for dehazing with a base model and a bank of BiLaLoRA adapters (Gradio).

    bash tools/install_ui.sh                      # once: gradio in .venv-ui, beside .venv
    .venv-ui/bin/python demo/gradio_dehaze.py [--adapter NAME=FILE ...] [--server-port 7860]

Upload photos, choose the base model, one adapter or ``auto`` (per image, the adapter whose
prompts best match it under the guidance CLIP), and compare before | after with a slider;
results are PNG files of the input's size, offered for download. "Adapt" trains a new adapter on
the uploaded photos with BiLaLoRA (``configs/bilalora/dehazeformer_demo.py``, a short CPU
schedule, live progress) and adds it to the bank. Everything runs on this machine; nothing is
downloaded. The page is served on 127.0.0.1 unless ``--server-name`` says otherwise.
"""
import argparse
import base64
import html
import os
import os.path as osp
import shutil
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
import mmbilalora  # noqa: E402,F401
from mmbilalora.apis import (SHIPPED_BASE_CHECKPOINT, SHIPPED_BASE_CONFIG,  # noqa: E402
                             PromptRouter, dehaze_array, load_dehazer)
from mmbilalora.apis.guidance import choose_guidance  # noqa: E402
from mmbilalora.models.lora import (adapter_info, list_adapters, load_adapter,  # noqa: E402
                                    set_adapter)
from mmbilalora.utils.image_io import read_rgb, write_rgb  # noqa: E402

BASE, AUTO = 'base', 'auto'
DEFAULT_CONFIG, DEFAULT_CHECKPOINT = SHIPPED_BASE_CONFIG, SHIPPED_BASE_CHECKPOINT
ADAPT_CONFIG = osp.join(ROOT, 'configs', 'bilalora', 'dehazeformer_demo.py')
PREVIEW_SIDE = 768


class DehazeSession:
    """The UI's state and actions, independent of Gradio (so they are testable without it).

    Args:
        config / checkpoint: the base model (see ``load_dehazer``).
        adapters: ``{name: adapter file}`` for the bank.
        work_dir: where results and adaptation runs are written.
        adapt_config: the BiLaLoRA config used by :meth:`adapt`.
        device: torch device.
    """

    def __init__(self, config: str = DEFAULT_CONFIG, checkpoint: str = DEFAULT_CHECKPOINT,
                 adapters: Optional[Dict[str, str]] = None, work_dir: str = 'work_dirs/ui',
                 adapt_config: str = ADAPT_CONFIG, device: str = 'cpu'):
        self.config, self.checkpoint = config, checkpoint
        self.adapt_config = adapt_config
        self.work_dir = osp.abspath(work_dir)
        self.device = device
        self.dehazer = load_dehazer(config, checkpoint, device=device, adapters=adapters or {})
        self._router: Optional[PromptRouter] = None

    @property
    def generator(self):
        return self.dehazer.generator

    def choices(self) -> List[str]:
        """``base``, every adapter, and ``auto`` when there are two adapters or more."""
        names = list_adapters(self.generator)
        return [BASE] + names + ([AUTO] if len(names) > 1 else [])

    def router(self) -> PromptRouter:
        names = list_adapters(self.generator)
        if self._router is None or self._router.names != names:
            self._router = PromptRouter(
                {n: [p[0] for p in adapter_info(self.generator, n)['prompts']] for n in names},
                device=self.device)
        return self._router

    def dehaze_files(self, paths: Sequence[str], choice: str) -> Tuple[List[Dict], List[Dict]]:
        """Dehaze image files with ``choice`` (base / adapter / auto).

        Returns:
            (results, failures): ``dict(input, output, adapter, scores, before, after)`` per
            image (``before`` / ``after`` are the RGB arrays) and ``dict(input, reason)`` per
            file that could not be processed.
        """
        if choice not in self.choices():
            raise ValueError(f'Unknown choice {choice!r}; choose one of {self.choices()}.')
        out_dir = osp.join(self.work_dir, 'results', time.strftime('%Y%m%d_%H%M%S'))
        results, failures = [], []
        for path in paths:
            name = osp.splitext(osp.basename(path))[0]
            try:
                rgb = read_rgb(path)
                adapter, scores = choice, None
                if choice == AUTO:
                    adapter, scores = self.router().route(rgb)
                set_adapter(self.generator, None if adapter == BASE else adapter)
                after = dehaze_array(self.dehazer, rgb)
                target = osp.join(out_dir, f'{name}_dehazed.png')
                write_rgb(target, after)
            except Exception as err:  # report the file, go on with the others
                failures.append(dict(input=osp.basename(path), reason=str(err)))
                continue
            results.append(dict(input=osp.basename(path), output=target, adapter=adapter,
                                scores=scores, before=rgb, after=after))
        return results, failures

    def adapt(self, paths: Sequence[str], name: str, iters: int = 60, search: int = 20,
              crop: int = 96, progress: Optional[Callable[[int, int, str], None]] = None) -> str:
        """Train a BiLaLoRA adapter on the photos ``paths`` and add it to the bank as ``name``.

        Runs ``adapt_config`` from the loaded base checkpoint (``iters`` iterations, the first
        ``search`` of them searching), guided by the H2C loss with the guidance CLIP; calls
        ``progress(iteration, total, phase)`` after every iteration. Returns the adapter file.
        """
        if not paths:
            raise ValueError('Upload at least one photo to adapt to.')
        if not name or name in (BASE, AUTO) or name in list_adapters(self.generator):
            raise ValueError(f'Choose a new adapter name (not {BASE!r}, {AUTO!r} or an existing '
                             'adapter).')
        run_dir = osp.join(self.work_dir, 'adapt', f'{time.strftime("%Y%m%d_%H%M%S")}_{name}')
        data_dir = osp.join(run_dir, 'photos')
        os.makedirs(data_dir, exist_ok=True)
        for i, path in enumerate(paths):
            write_rgb(osp.join(data_dir, f'{i:04d}.png'), read_rgb(path))
        if len(paths) == 1:  # the bilevel split needs two images: one photo serves both halves
            shutil.copyfile(osp.join(data_dir, '0000.png'), osp.join(data_dir, '0001.png'))
        clip_model, pretrained, guidance = choose_guidance()
        cfg = Config.fromfile(self.adapt_config)
        cfg.merge_from_dict({
            'work_dir': run_dir, 'load_from': self.checkpoint,
            'train_dataloader.dataset.dataset.data_root': data_dir,
            'train_dataloader.dataset.dataset.pipeline.1.size': crop,
            'train_dataloader.num_workers': 0,
            'model.loss.clip_model': clip_model, 'model.loss.pretrained': pretrained,
            'train_cfg.max_iters': iters,
            'default_hooks.checkpoint.interval': iters + 1,
            'custom_hooks': [dict(type='BiLaLoRAHook', search_iters=search, top_k=3,
                                  log_interval=5, save_adapter=True,
                                  adapter_description=f'{name}: adapted in the UI to '
                                  f'{len(paths)} photo(s), guidance {guidance}')],
        })
        for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                    'test_evaluator'):
            cfg[key] = None  # no validation: the adapter is judged by looking at the results
        runner = Runner.from_cfg(cfg)
        if progress is not None:
            runner.register_hook(ProgressHook(progress, search), 'LOW')
        runner.train()
        adapter_path = osp.join(run_dir, 'bilalora_adapter.pth')
        load_adapter(self.generator, adapter_path, name=name)
        set_adapter(self.generator, None)
        return adapter_path


class ProgressHook(Hook):
    """Calls ``callback(iteration, total, phase)`` after every training iteration."""

    def __init__(self, callback: Callable[[int, int, str], None], search_iters: int):
        self.callback = callback
        self.search_iters = search_iters

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        self.callback(done, runner.max_iters,
                      'search' if done <= self.search_iters else 'fine-tune')


def _data_url(rgb: np.ndarray) -> str:
    scale = min(1.0, PREVIEW_SIDE / max(rgb.shape[:2]))
    if scale < 1:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode('.jpg', np.ascontiguousarray(rgb[..., ::-1]),
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
    return 'data:image/jpeg;base64,' + base64.b64encode(jpeg.tobytes()).decode()


def slider_html(result: Dict) -> str:
    """Before | after of one result: the after image over the before image, revealed up to the
    slider position (CSS clip-path)."""
    label = html.escape(f'{result["input"]}: before | after ({result["adapter"]})')
    return (
        '<figure class="mmbilalora-compare" style="margin:0 0 12px 0">'
        f'<figcaption style="font-size:14px">{label}</figcaption>'
        '<div style="position:relative;width:100%;max-width:720px">'
        f'<img class="before" alt="before" src="{_data_url(result["before"])}" '
        'style="display:block;width:100%">'
        f'<img class="after" alt="after" src="{_data_url(result["after"])}" '
        'style="position:absolute;top:0;left:0;width:100%;height:100%;'
        'clip-path:inset(0 0 0 50%)">'
        '<input type="range" min="0" max="100" value="50" aria-label="before/after" '
        'oninput="this.parentElement.querySelector(\'.after\').style.clipPath='
        "'inset(0 0 0 '+this.value+'%)'\" "
        'style="position:absolute;left:0;bottom:6px;width:100%"></div></figure>')


def report_markdown(results: List[Dict], failures: List[Dict]) -> str:
    lines = ['| photo | size | model | routing scores |', '| --- | --- | --- | --- |']
    for r in results:
        h, w = r['after'].shape[:2]
        scores = ', '.join(f'{k} {v:.3f}' for k, v in (r['scores'] or {}).items())
        lines.append(f'| {r["input"]} | {w}x{h} | {r["adapter"]} | {scores or "-"} |')
    lines += [f'\n**Could not process** {f["input"]}: {f["reason"]}' for f in failures]
    return '\n'.join(lines)


def build_app(session: DehazeSession):
    """The Gradio Blocks page for ``session``."""
    import gradio as gr

    def files_of(uploaded) -> List[str]:
        return [f if isinstance(f, str) else f.name for f in (uploaded or [])]

    def dehaze(uploaded, choice):
        paths = files_of(uploaded)
        if not paths:
            raise gr.Error('Upload at least one photo.')
        results, failures = session.dehaze_files(paths, choice)
        gallery = [(r['output'], f'{r["input"]} ({r["adapter"]})') for r in results]
        return ('\n'.join(slider_html(r) for r in results[:8]), gallery,
                [r['output'] for r in results] or None, report_markdown(results, failures))

    def adapt(uploaded, name, iters, progress=gr.Progress()):
        paths = files_of(uploaded)
        try:
            path = session.adapt(
                paths, name.strip(), iters=int(iters), search=max(1, int(iters) // 3),
                progress=lambda i, n, phase: progress((i, n), desc=f'BiLaLoRA {phase}'))
        except ValueError as err:
            raise gr.Error(str(err))
        status = f'Adapter **{name}** trained on {len(paths)} photo(s) and added: `{path}`'
        return status, gr.update(choices=session.choices(), value=name.strip())

    with gr.Blocks(title='mmbilalora: BiLaLoRA dehazing') as app:
        gr.Markdown('# BiLaLoRA dehazing\nUpload hazy photos, choose the model, compare before '
                    '| after (drag the slider), download the results.')
        with gr.Row():
            with gr.Column(scale=1):
                photos = gr.File(label='Hazy photos', file_count='multiple',
                                 file_types=['image'], elem_id='photos')
                choice = gr.Radio(session.choices(), value=BASE, label='Model',
                                  info='base, an adapter, or auto (per photo, by prompts)',
                                  elem_id='choice')
                run = gr.Button('Dehaze', variant='primary', elem_id='dehaze')
                with gr.Accordion('Adapt to these photos (BiLaLoRA)', open=False):
                    name = gr.Textbox(value='my-photos', label='New adapter name')
                    iters = gr.Slider(10, 300, value=60, step=10, label='Iterations')
                    adapt_button = gr.Button('Adapt', elem_id='adapt')
                    status = gr.Markdown()
            with gr.Column(scale=2):
                compare = gr.HTML(elem_id='compare')
                gallery = gr.Gallery(label='Results', elem_id='results', columns=3,
                                     object_fit='contain', height='auto')
                downloads = gr.File(label='Download', file_count='multiple',
                                    elem_id='downloads')
                report = gr.Markdown(elem_id='report')
        run.click(dehaze, [photos, choice], [compare, gallery, downloads, report])
        adapt_button.click(adapt, [photos, name, iters], [status, choice])
    return app


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint', default=DEFAULT_CHECKPOINT)
    parser.add_argument('--adapter', action='append', default=[], metavar='NAME=FILE')
    parser.add_argument('--adapt-config', default=ADAPT_CONFIG)
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'ui'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--server-name', default='127.0.0.1')
    parser.add_argument('--server-port', type=int, default=7860)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    adapters = {}
    for value in args.adapter:
        name, sep, path = value.partition('=')
        if not sep or not name or not path:
            raise SystemExit(f'error: --adapter {value!r} must be NAME=FILE')
        adapters[name] = path
    session = DehazeSession(args.config, args.checkpoint, adapters, args.work_dir,
                            args.adapt_config, args.device)
    app = build_app(session)
    app.queue().launch(server_name=args.server_name, server_port=args.server_port,
                       allowed_paths=[session.work_dir], show_api=False)


if __name__ == '__main__':
    main()
