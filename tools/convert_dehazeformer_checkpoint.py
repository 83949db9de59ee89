"""Convert a DehazeFormer checkpoint into one of a PriorRefinedDehazer (its network).

    python tools/convert_dehazeformer_checkpoint.py SRC OUT

SRC: a DehazeFormer checkpoint of this plugin (``generator.*`` keys), of the official release
(``module.*``) or a bare state dict. OUT: a BaseEditModel checkpoint with ``generator.network.*``
keys, loadable with ``load_from`` into a config whose generator is a ``PriorRefinedDehazer`` with
that DehazeFormer as its network (e.g. to train the shipped base's recipe from your own
DehazeFormer). A 3-channel first conv is widened to the network's 6 input channels (the prior's
image first: its weights; the hazy image's: zeros). Written atomically; OUT must not be SRC.
"""
import argparse
import os.path as osp

from mmbilalora.apis import dehazeformer_to_prior_refined
from mmbilalora.utils.atomic_io import atomic_torch_save
from mmbilalora.utils.checkpoint_io import read_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='DehazeFormer checkpoint')
    parser.add_argument('out', help='PriorRefinedDehazer checkpoint to write')
    args = parser.parse_args(argv)
    if osp.realpath(args.out) == osp.realpath(args.src):
        raise SystemExit(f'error: OUT {args.out!r} is SRC (inputs are never overwritten).')
    try:
        converted = dehazeformer_to_prior_refined(
            read_checkpoint(args.src, map_location='cpu'),
            meta=dict(converted_from=osp.basename(args.src)))
    except (OSError, ValueError) as err:
        raise SystemExit(f'error: {args.src}: {err}')
    size = atomic_torch_save(converted, args.out)
    print(f'{len(converted["state_dict"])} tensors written to {args.out} ({size / 1e6:.2f} MB)')


if __name__ == '__main__':
    main()
