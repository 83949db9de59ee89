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
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from mmbilalora.apis import DehazeSession
from mmbilalora.apis.folder import BASE

PREVIEW_SIDE = 768


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

    def dehaze(uploaded, choice, progress=gr.Progress()):
        paths = files_of(uploaded)
        if not paths:
            raise gr.Error('Upload at least one photo.')
        progress(0.0, desc='dehazing')
        results, failures = session.dehaze_files(
            paths, choice, progress=lambda done, total: progress(
                done / total, desc=f'dehazing photo {min(int(done) + 1, total)} of {total}'))
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
    parser.add_argument('--config', help="base config (default: the shipped base's)")
    parser.add_argument('--checkpoint', help='base weights (with --config)')
    parser.add_argument('--adapter', action='append', default=[], metavar='NAME=FILE')
    parser.add_argument('--adapt-config', help='BiLaLoRA config of "Adapt" (default: '
                        'configs/bilalora/dehazeformer_demo.py)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'ui'))
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
