"""Dehaze a photo or a folder of photos with a trained model.

    python tools/dehaze.py INPUT --config CONFIG --checkpoint CKPT [--adapter ADAPTER]
                           --out OUT_DIR [--tile 512] [--overlap 32] [--resize-multiple N]
                           [--grid] [--device cpu]

INPUT is an image file or a folder (searched recursively). CKPT is a BaseEditModel checkpoint,
a merged BiLaLoRA checkpoint (``bilalora_merged.pth``) or official DehazeFormer weights; an
adapter (``bilalora_adapter.pth``) can be attached on top of a base checkpoint. Outputs are PNG
files of the input's size under OUT_DIR (same relative paths), written atomically; an input file
is never overwritten. ``--grid`` also writes ``<name>_compare.jpg`` (input | output).
EXIF orientation is applied; see ``mmbilalora.utils.image_io`` for grayscale / 16-bit / RGBA.
The pixel conventions (input normalisation, output range) come from the config's data
preprocessor. ``--resize-multiple 16 --tile 0`` reproduces the authors' test script's sizing: the
normalised input is resized (bicubic, antialiased) to a multiple of 16 and the output back.
"""
import argparse
import os.path as osp
import sys

import numpy as np
from tqdm import tqdm

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import mmbilalora  # noqa: E402,F401
from mmbilalora.apis import dehaze_array, load_dehazer  # noqa: E402
from mmbilalora.datasets import scan_images  # noqa: E402
from mmbilalora.engine.hooks.test_report_hook import safe_output_path  # noqa: E402
from mmbilalora.utils.image_io import read_rgb, write_rgb  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='image file or folder')
    parser.add_argument('--config', required=True, help='config with model.generator')
    parser.add_argument('--checkpoint', required=True, help='base, merged or official weights')
    parser.add_argument('--adapter', help='BiLaLoRA adapter file to attach')
    parser.add_argument('--out', required=True, help='output folder')
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


def main(argv=None) -> None:
    args = parse_args(argv)
    if osp.isdir(args.input):
        root, files = args.input, scan_images(args.input)
    elif osp.isfile(args.input):
        root, files = osp.dirname(args.input), [args.input]
    else:
        raise FileNotFoundError(f'Input not found: {args.input!r}')
    if osp.realpath(args.out) == osp.realpath(root):
        raise ValueError(f'--out {args.out!r} is the input folder; choose another folder so that '
                         'no input is overwritten.')
    dehazer = load_dehazer(args.config, args.checkpoint, args.adapter, args.device)
    for path in tqdm(files, desc='dehazing', unit='image'):
        rgb = read_rgb(path)
        result = dehaze_array(dehazer, rgb, tile=args.tile or None, overlap=args.overlap,
                              pad_multiple=args.pad_multiple,
                              resize_multiple=args.resize_multiple)
        relative = osp.relpath(path, root)
        write_rgb(safe_output_path(args.out, relative, path), result)
        if args.grid:
            target = osp.join(args.out, osp.splitext(relative)[0] + '_compare.jpg')
            write_rgb(target, np.concatenate([rgb, result], axis=1))
    print(f'{len(files)} image(s) written to {args.out}')


if __name__ == '__main__':
    main()
