"""Strip a training checkpoint to the generator weights (optionally fp16) for shipping.

    python tools/publish_checkpoint.py CKPT OUT [--fp16] [--metrics metrics.json]
        [--note "how it was made"]

Keeps only ``generator.*`` tensors under ``state_dict`` and a small ``meta`` (source iteration,
config text, the given metrics and note), so the file loads with ``load_from``,
``tools/dehaze.py`` and ``torch.load(weights_only=True)``. Written atomically; OUT must differ
from CKPT.
"""
import argparse
import json
import os.path as osp

from mmbilalora.utils.atomic_io import atomic_torch_save
from mmbilalora.utils.checkpoint_io import read_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--fp16', action='store_true', help='store weights as float16')
    parser.add_argument('--metrics', help='JSON file of validation metrics to record')
    parser.add_argument('--note', default='')
    args = parser.parse_args(argv)
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError('OUT must differ from CKPT (inputs are never overwritten).')
    checkpoint = read_checkpoint(args.checkpoint, map_location='cpu')
    state = {k: v for k, v in checkpoint['state_dict'].items() if k.startswith('generator.')}
    if not state:
        raise ValueError(f'{args.checkpoint!r} has no generator.* weights.')
    if args.fp16:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = dict(source=osp.basename(args.checkpoint),
                iter=int(checkpoint.get('meta', {}).get('iter', -1)),
                config=str(checkpoint.get('meta', {}).get('cfg', '')), note=args.note,
                dtype='float16' if args.fp16 else 'float32')
    if args.metrics:
        meta['val'] = {k: float(v) for k, v in json.load(open(args.metrics)).items()}
    size = atomic_torch_save(dict(state_dict=state, meta=meta), args.out)
    print(f'{len(state)} tensors written to {args.out} ({size / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
