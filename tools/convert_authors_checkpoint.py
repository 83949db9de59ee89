"""Convert the authors' released BiLaLoRA files (DEA-Net) into this plugin's formats.

    python tools/convert_authors_checkpoint.py --base Base.pth [--lora LoRA.pth] --out-dir DIR

Writes ``DIR/base.pth`` (a BaseEditModel checkpoint: ``load_from`` / ``--checkpoint``) and, given
``--lora``, ``DIR/adapter.pth`` (an mmbilalora adapter: ``--adapter`` / ``load_adapter``).
Both are written atomically and never over an input. Use them with
``configs/dea-net/dea-net_authors.py`` (the authors' input normalisation and output range), e.g.

    python tools/dehaze.py PHOTO --config configs/dea-net/dea-net_authors.py \\
        --checkpoint DIR/base.pth --adapter DIR/adapter.pth --resize-multiple 16 --tile 0 --out OUT

A file in another layout is refused with a message that says what was expected (see
``mmbilalora.apis.authors_checkpoint``).
"""
import argparse
import os
import os.path as osp

from mmbilalora.apis import convert_authors_files
from mmbilalora.models.lora import save_adapter
from mmbilalora.utils.atomic_io import atomic_torch_save


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--base', required=True, help="the authors' Base.pth")
    parser.add_argument('--lora', help="the authors' LoRA.pth (adapter)")
    parser.add_argument('--out-dir', required=True, help='folder for base.pth and adapter.pth')
    args = parser.parse_args(argv)
    targets = [osp.join(args.out_dir, 'base.pth')] + (
        [osp.join(args.out_dir, 'adapter.pth')] if args.lora else [])
    inputs = {osp.realpath(p) for p in (args.base, args.lora) if p}
    clash = [t for t in targets if osp.realpath(t) in inputs]
    if clash:
        raise SystemExit(f'{clash[0]!r} is one of the inputs (inputs are never overwritten); '
                         'choose another --out-dir.')
    checkpoint, adapter = convert_authors_files(args.base, args.lora)
    os.makedirs(args.out_dir, exist_ok=True)
    atomic_torch_save(checkpoint, targets[0])
    print(f'{targets[0]}: {len(checkpoint["state_dict"])} tensors (DEANet, deploy=True)')
    if adapter is not None:
        save_adapter(adapter, targets[1])
        print(f'{targets[1]}: blocks {adapter["selected_blocks"]}, r={adapter["r"]}, '
              f'lora_alpha={adapter["lora_alpha"]:g}, {len(adapter["layers"])} layers')


if __name__ == '__main__':
    main()
