"""Dehaze a photo or a folder of photos with a trained model (and a bank of adapters).

    python tools/dehaze.py INPUT --config CONFIG --checkpoint CKPT --out OUT_DIR
        [--adapter [NAME=]ADAPTER ...] [--route NAME|auto|base] [--prompt NAME=TEXT ...]
        [--skip-existing] [--tile 512] [--overlap 32] [--resize-multiple N] [--grid]
        [--device cpu]

INPUT is an image file or a folder (searched recursively). CKPT is a BaseEditModel checkpoint,
a merged BiLaLoRA checkpoint (``bilalora_merged.pth``) or official DehazeFormer weights. Adapters
(``bilalora_adapter.pth``) attach to the one loaded base and switch per image without reloading
it: ``--adapter day=day.pth --adapter night=night.pth --route auto`` picks, per image, the adapter
whose prompts best match the image under the guidance CLIP (zero-shot); ``--route NAME`` uses one
adapter, ``--route base`` none. With a single adapter the route defaults to it. ``--prompt
NAME=TEXT`` adds a hazy-domain prompt to an adapter (for files saved without prompts).

Outputs are PNG files of the input's size under OUT_DIR (same relative paths), written
atomically; an input file is never overwritten. ``--grid`` also writes ``<name>_compare.jpg``
(input | output). ``OUT_DIR/report.json`` lists every image with the adapter used (and the
routing scores) and every failure. A file that cannot be read or processed does not stop the
run: the rest is processed, the failures (file and reason) are listed at the end and the exit
status is 1. ``--skip-existing`` leaves images whose output already exists (resuming a run).
EXIF orientation is applied; see ``mmbilalora.utils.image_io`` for grayscale / 16-bit / RGBA.
The pixel conventions (input normalisation, output range) come from the config's data
preprocessor. ``--resize-multiple 16 --tile 0`` reproduces the authors' test script's sizing: the
normalised input is resized (bicubic, antialiased) to a multiple of 16 and the output back.
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmbilalora  # noqa: E402,F401
from mmbilalora.apis import PromptRouter, dehaze_array, load_dehazer  # noqa: E402
from mmbilalora.datasets import scan_images  # noqa: E402
from mmbilalora.models.lora import adapter_info, set_adapter  # noqa: E402
from mmbilalora.utils.atomic_io import atomic_dump_json  # noqa: E402
from mmbilalora.utils.image_io import read_rgb, safe_output_path, write_rgb  # noqa: E402

BASE = 'base'
AUTO = 'auto'
REPORT_INTERVAL_S = 30.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image file or folder')
    parser.add_argument('--config', required=True, help='config with model.generator')
    parser.add_argument('--checkpoint', required=True, help='base, merged or official weights')
    parser.add_argument('--adapter', action='append', default=[], metavar='[NAME=]FILE',
                        help='adapter file to put in the bank (repeatable; NAME defaults to '
                        'the file name without extension)')
    parser.add_argument('--route', help=f'adapter NAME, "{AUTO}" (per image, by prompts) or '
                        f'"{BASE}" (no adapter); default: the only adapter, else base')
    parser.add_argument('--prompt', action='append', default=[], metavar='NAME=TEXT',
                        help='add a hazy-domain prompt to adapter NAME (repeatable)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--skip-existing', action='store_true',
                        help='leave images whose output file exists')
    parser.add_argument('--tile', type=int, default=512, help='tile side in pixels (0: whole)')
    parser.add_argument('--overlap', type=int, default=32, help='tile overlap in pixels')
    parser.add_argument('--pad-multiple', type=int, default=32)
    parser.add_argument('--resize-multiple', type=int, default=0,
                        help='resize the input to a multiple of N and the output back (bicubic, '
                        "antialiased; the authors' test script uses 16) instead of padding to "
                        '--pad-multiple; 0: pad')
    parser.add_argument('--grid', action='store_true', help='also write input|output images')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def parse_named(values: List[str], what: str, default_name=None) -> Dict[str, List[str]]:
    """``['a=x', 'b=y', 'z.pth']`` -> ``{'a': ['x'], 'b': ['y'], stem(z): ['z.pth']}``."""
    named: Dict[str, List[str]] = {}
    for value in values:
        name, sep, item = value.partition('=')
        if not sep:
            if default_name is None:
                raise SystemExit(f'error: {what} {value!r} must be NAME=VALUE')
            name, item = default_name(value), value
        if not name or not item:
            raise SystemExit(f'error: {what} {value!r} must be NAME=VALUE')
        named.setdefault(name, []).append(item)
    return named


def adapter_files(values: List[str]) -> Dict[str, str]:
    named = parse_named(values, '--adapter',
                        lambda path: osp.splitext(osp.basename(path))[0])
    repeated = [name for name, paths in named.items() if len(paths) > 1]
    if repeated:
        raise SystemExit(f'error: adapter name(s) {repeated} given twice; name them NAME=FILE')
    if BASE in named or AUTO in named:
        raise SystemExit(f'error: "{BASE}" and "{AUTO}" are reserved, not adapter names')
    return {name: paths[0] for name, paths in named.items()}


def choose_route(route: Optional[str], names: List[str]) -> str:
    if route is None:
        return names[0] if len(names) == 1 else BASE
    if route not in (BASE, AUTO, *names):
        raise SystemExit(f'error: --route {route!r} is not {BASE!r}, {AUTO!r} or an adapter '
                         f'name {names}')
    if route == AUTO and len(names) < 2:
        raise SystemExit('error: --route auto needs at least two adapters')
    return route


def load_previous(path: str) -> Dict[str, Dict]:
    """Rows of an earlier report, by input path (for --skip-existing)."""
    if not osp.isfile(path):
        return {}
    try:
        with open(path) as f:
            return {row['input']: row for row in json.load(f).get('images', [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def main(argv=None) -> int:
    args = parse_args(argv)
    if osp.isdir(args.input):
        try:
            root, files = args.input, scan_images(args.input)
        except ValueError as err:
            raise SystemExit(f'error: {err}')
    elif osp.isfile(args.input):
        root, files = osp.dirname(args.input), [args.input]
    else:
        raise SystemExit(f'error: input not found: {args.input!r}')
    if osp.realpath(args.out) == osp.realpath(root):
        raise SystemExit(f'error: --out {args.out!r} is the input folder; choose another folder '
                         'so that no input is overwritten.')
    adapters = adapter_files(args.adapter)
    route = choose_route(args.route, list(adapters))
    extra_prompts = parse_named(args.prompt, '--prompt')
    unknown = set(extra_prompts) - set(adapters)
    if unknown:
        raise SystemExit(f'error: --prompt for unknown adapter(s) {sorted(unknown)}')
    try:
        dehazer = load_dehazer(args.config, args.checkpoint, device=args.device,
                               adapters=adapters)
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f'error: {err}')
    generator = dehazer.generator
    info = {name: adapter_info(generator, name) for name in adapters}
    for name, texts in extra_prompts.items():
        info[name]['prompts'] += [(text, '') for text in texts]
    router = None
    if route == AUTO:
        router = PromptRouter({name: [p[0] for p in info[name]['prompts']] for name in adapters},
                              device=args.device)
        print(f'routing by prompts with {router.guidance}')

    report_path = osp.join(args.out, 'report.json')
    previous = load_previous(report_path) if args.skip_existing else {}
    rows: Dict[str, Dict] = {}
    failed: List[Dict] = []
    skipped = 0

    def write_report() -> None:
        atomic_dump_json(dict(
            route=route, guidance=router.guidance if router else None,
            adapters={name: dict(file=adapters[name], description=info[name]['description'],
                                 prompts=[list(p) for p in info[name]['prompts']])
                      for name in adapters},
            images=list(rows.values()), failed=failed), report_path)

    last_write = time.monotonic()
    try:  # the report is written at the end, also after Ctrl-C
        for path in tqdm(files, desc='dehazing', unit='image'):
            relative = osp.relpath(path, root)
            try:
                target = safe_output_path(args.out, relative, path)
                if args.skip_existing and osp.isfile(target):
                    skipped += 1
                    rows[relative] = previous.get(relative, dict(input=relative,
                                                                 output=osp.relpath(target,
                                                                                    args.out)))
                    continue
                rgb = read_rgb(path)
                row = dict(input=relative, output=osp.relpath(target, args.out))
                name = route
                if router is not None:
                    name, row['route_scores'] = router.route(rgb)
                set_adapter(generator, None if name == BASE else name)
                row['adapter'] = name
                result = dehaze_array(dehazer, rgb, tile=args.tile or None, overlap=args.overlap,
                                      pad_multiple=args.pad_multiple,
                                      resize_multiple=args.resize_multiple)
                write_rgb(target, result)
                if args.grid:
                    write_rgb(osp.join(args.out, osp.splitext(relative)[0] + '_compare.jpg'),
                              np.concatenate([rgb, result], axis=1))
                rows[relative] = row
            except Exception as err:  # one bad file must not stop the batch
                failed.append(dict(input=relative, reason=f'{type(err).__name__}: {err}'))
            if time.monotonic() - last_write > REPORT_INTERVAL_S:
                write_report()
                last_write = time.monotonic()
    finally:
        write_report()
    done = len(rows) - skipped
    print(f'{done} image(s) written to {args.out}' + (f', {skipped} skipped (output exists)'
                                                      if skipped else ''))
    if router is not None:
        counts = {name: sum(r.get('adapter') == name for r in rows.values()) for name in adapters}
        print('routing: ' + ', '.join(f'{n} {c}' for n, c in counts.items()))
    if failed:
        print(f'{len(failed)} image(s) failed:', file=sys.stderr)
        for row in failed:
            print(f'  {row["input"]}: {row["reason"]}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
