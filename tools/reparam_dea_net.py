"""Re-parameterise a training-form DEA-Net checkpoint into the deployed form (CPU).

    python tools/reparam_dea_net.py TRAIN_CKPT OUT_CKPT

TRAIN_CKPT: an mmengine checkpoint of ``configs/dea-net/dea-net_synhaze.py`` (``state_dict``
with ``generator.`` keys), an official DEA-Net training checkpoint (``{'model': state_dict}``)
or a bare state dict. Each DEConv's five branches are summed into one 3x3 conv; every other
entry is kept, and the output keeps the input's layout (``state_dict`` + ``meta``, or bare).
OUT_CKPT is written atomically and must differ from TRAIN_CKPT.
"""
import argparse
import os.path as osp

from mmbilalora.models.editors.dea_net import reparameterize_dea_net
from mmbilalora.utils.atomic_io import atomic_torch_save
from mmbilalora.utils.checkpoint_io import read_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='training-form checkpoint')
    parser.add_argument('out', help='deployed-form checkpoint to write')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint not found: {args.checkpoint!r}')
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        raise ValueError('OUT_CKPT must differ from TRAIN_CKPT (inputs are never overwritten).')
    try:
        checkpoint = read_checkpoint(args.checkpoint, map_location='cpu')
    except Exception as err:
        raise ValueError(f'Cannot read checkpoint {args.checkpoint!r}: {err}') from err
    key = next((k for k in ('state_dict', 'model') if isinstance(checkpoint.get(k), dict)), None)
    state = checkpoint[key] if key else checkpoint
    deployed = reparameterize_dea_net(state)
    if len(deployed) == len(state):
        raise ValueError(f'{args.checkpoint!r} holds no DEConv branches: already deployed, or not '
                         'a DEA-Net checkpoint.')
    result = dict(state_dict=deployed, meta=dict(checkpoint.get('meta', {}),
                                                 reparameterized_from=args.checkpoint))
    atomic_torch_save(result if key == 'state_dict' else (deployed if key is None else result),
                      args.out)
    print(f'{len(state)} -> {len(deployed)} tensors; deployed checkpoint written to {args.out}')


if __name__ == '__main__':
    main()
