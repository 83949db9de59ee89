"""Dehaze a photo or a folder of photos (the shipped base by default; adapters routed per photo).

    python tools/dehaze.py INPUT --out OUT_DIR [--config CONFIG --checkpoint CKPT]
        [--adapter [NAME=]ADAPTER ...] [--route NAME|auto|base] [--prompt NAME=TEXT ...]
        [--skip-existing] [--tile 512] [--overlap 32] [--resize-multiple N] [--grid]
        [--cfg-options KEY=VALUE ...] [--device cpu]

INPUT is an image file or a folder (searched recursively). Without ``--config`` the shipped base
dehazer is used (``mmbilalora.utils.model_zoo``); CKPT is a BaseEditModel checkpoint, a merged
BiLaLoRA checkpoint (``bilalora_merged.pth``), official DehazeFormer weights or
``mmbilalora://NAME``. Adapters (``bilalora_adapter.pth``) attach to the one loaded base and switch
per photo without reloading it: ``--adapter day=day.pth --adapter night=night.pth --route auto``
picks, per photo, the adapter whose prompts best match it under the guidance CLIP (zero-shot);
``--route NAME`` uses one adapter, ``--route base`` none. With a single adapter the route
defaults to it. ``--prompt NAME=TEXT`` adds a hazy-domain prompt to an adapter (for files saved
without prompts).

Outputs are PNG files of the input's size under OUT_DIR (same relative paths), written
atomically; an input is never overwritten. ``--grid`` also writes ``<name>_compare.jpg`` (input |
output). ``OUT_DIR/report.json`` lists every photo with the adapter used (and the routing scores)
and every failure. A file that cannot be read or processed does not stop the run: the failures
are listed at the end and the exit status is 1. ``--skip-existing`` resumes a run. The pixel
conventions come from the config's data preprocessor. ``--resize-multiple 16 --tile 0``
reproduces the authors' test script's sizing (see ``mmbilalora.apis.dehaze_array``).
``--cfg-options`` changes the config, e.g. ``model.generator.network_pixels=None``: the shipped
base's exact path (its network at full resolution on large photos too; slower).
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional

from mmengine.config import DictAction

from mmbilalora.apis import PromptRouter, load_dehazer
from mmbilalora.apis.folder import AUTO, BASE, check_route, dehaze_folder
from mmbilalora.utils.checkpoint_io import CheckpointReadError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image file or folder')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--config', help='config with model.generator (default: the shipped '
                        "base's)")
    parser.add_argument('--checkpoint', help='base, merged or official weights (with --config)')
    parser.add_argument('--adapter', action='append', default=[], metavar='[NAME=]FILE',
                        help='adapter file to put in the bank (repeatable; NAME defaults to '
                        'the file name without extension)')
    parser.add_argument('--route', help=f'adapter NAME, "{AUTO}" (per photo, by prompts) or '
                        f'"{BASE}" (no adapter); default: the only adapter, else base')
    parser.add_argument('--prompt', action='append', default=[], metavar='NAME=TEXT',
                        help='add a hazy-domain prompt to adapter NAME (repeatable)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='leave photos whose output file exists (resume a run)')
    parser.add_argument('--tile', type=int, default=512, help='tile side in pixels (0: whole)')
    parser.add_argument('--overlap', type=int, default=32, help='tile overlap in pixels')
    parser.add_argument('--pad-multiple', type=int, default=32)
    parser.add_argument('--resize-multiple', type=int, default=0,
                        help='resize the input to a multiple of N and the output back (bicubic, '
                        "antialiased; the authors' test script uses 16) instead of padding to "
                        '--pad-multiple; 0: pad')
    parser.add_argument('--grid', action='store_true', help='also write input|output images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings, e.g. model.generator.network_pixels=None')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if args.checkpoint and not args.config:
        parser.error('--checkpoint needs --config (the shipped base comes with its own)')
    return args


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
    named = parse_named(values, '--adapter', lambda path: osp.splitext(osp.basename(path))[0])
    repeated = [name for name, paths in named.items() if len(paths) > 1]
    if repeated:
        raise SystemExit(f'error: adapter name(s) {repeated} given twice; name them NAME=FILE')
    if BASE in named or AUTO in named:
        raise SystemExit(f'error: "{BASE}" and "{AUTO}" are reserved, not adapter names')
    return {name: paths[0] for name, paths in named.items()}


def choose_route(route: Optional[str], names: List[str]) -> str:
    if route is None:
        return names[0] if len(names) == 1 else BASE
    try:
        check_route(route, names)
    except ValueError as err:
        raise SystemExit(f'error: --{err}')
    return route


def main(argv=None) -> int:
    args = parse_args(argv)
    adapters = adapter_files(args.adapter)
    route = choose_route(args.route, list(adapters))
    extra_prompts = parse_named(args.prompt, '--prompt')
    unknown = set(extra_prompts) - set(adapters)
    if unknown:
        raise SystemExit(f'error: --prompt for unknown adapter(s) {sorted(unknown)}')
    try:
        dehazer = load_dehazer(args.config, args.checkpoint, device=args.device,
                               adapters=adapters, cfg_options=args.cfg_options)
    except (OSError, ValueError, KeyError, CheckpointReadError) as err:
        raise SystemExit(f'error: {err}')
    router = None
    if route == AUTO:
        bank = dehazer.adapters
        router = PromptRouter({name: [p[0] for p in bank.info(name)['prompts']]
                               + extra_prompts.get(name, []) for name in bank.names},
                              device=args.device)
        print(f'routing by prompts with {router.guidance}')
    try:
        run = dehaze_folder(dehazer, args.input, args.out, route=route, router=router,
                            skip_existing=args.skip_existing, grid=args.grid,
                            tile=args.tile or None, overlap=args.overlap,
                            pad_multiple=args.pad_multiple,
                            resize_multiple=args.resize_multiple)
    except (OSError, ValueError) as err:
        raise SystemExit(f'error: {err}')
    print(f'{len(run.written)} photo(s) written to {args.out}'
          + (f', {len(run.skipped)} skipped (output exists)' if run.skipped else ''))
    if router is not None:
        counts = {name: sum(r['adapter'] == name for r in run.written) for name in adapters}
        print('routing: ' + ', '.join(f'{n} {c}' for n, c in counts.items()))
    if run.failed:
        print(f'{len(run.failed)} photo(s) failed:', file=sys.stderr)
        for row in run.failed:
            print(f'  {row["input"]}: {row["reason"]}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
