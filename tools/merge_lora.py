"""Merge a BiLaLoRA adapter into its base checkpoint: a plain model with zero inference overhead.

    python tools/merge_lora.py CONFIG BASE_CHECKPOINT ADAPTER OUT

CONFIG is any config whose ``model.generator`` builds the base network (the pretraining config or
the BiLaLoRA config). OUT is a BaseEditModel checkpoint (``generator.*`` weights) that loads with
``load_from``, ``tools/test.py`` and ``tools/dehaze.py --checkpoint`` like the base itself. It is
written atomically and must not be one of the inputs; an adapter made for another architecture is
rejected (architecture fingerprint).
"""
import argparse
import os.path as osp

from mmbilalora.apis import load_dehazer
from mmbilalora.models.lora import read_adapter, save_merged_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='base (or merged) checkpoint')
    parser.add_argument('adapter', help='bilalora_adapter.pth')
    parser.add_argument('out')
    args = parser.parse_args(argv)
    inputs = {osp.abspath(p) for p in (args.config, args.checkpoint, args.adapter)}
    if osp.abspath(args.out) in inputs:
        raise SystemExit(f'OUT {args.out!r} is one of the inputs (inputs are never overwritten).')
    adapter = read_adapter(args.adapter)
    dehazer = load_dehazer(args.config, args.checkpoint, adapter=args.adapter)
    count = save_merged_checkpoint(
        dehazer.generator, args.out,
        dict(base=osp.basename(args.checkpoint), adapter=osp.basename(args.adapter),
             selected=list(adapter.get('selected_blocks') or [])))
    print(f'{count} tensors written to {args.out} (adapter {args.adapter} merged into '
          f'{args.checkpoint})')


if __name__ == '__main__':
    main()
