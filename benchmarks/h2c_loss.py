"""Time the H2C loss: CLIPHazeClearLoss vs the authors' procedure, measured in one run.

Both compute the same value for a batch of dehazed outputs and inputs (256x256 by default) with
the ViT-B-32 architecture (random weights are fine for timing):

- ours: input branch under ``torch.no_grad()``, text direction cached at construction;
- authors': input branch with autograd and the prompts re-encoded every call.

Prints the median forward+backward time of each over ``--repeats`` interleaved rounds (one call
of each per round, after one warm-up round; ``timing.interleaved_times``) and the median of the
per-round ratios with its range.

    python benchmarks/h2c_loss.py [--batch 4] [--size 256] [--repeats 5] [--device cpu]
"""
import argparse
import warnings

import torch
import torch.nn.functional as F

from mmbilalora.models.losses import CLIPHazeClearLoss

from timing import interleaved_times


def authors_way(loss: CLIPHazeClearLoss, tokenizer, pred: torch.Tensor,
                inp: torch.Tensor) -> torch.Tensor:
    """H2C as in the released code: grads through the input branch, text encoded per call."""
    hazy = F.normalize(loss.clip.encode_text(tokenizer([p[0] for p in loss.prompts])), dim=-1)
    clear = F.normalize(loss.clip.encode_text(tokenizer([p[1] for p in loss.prompts])), dim=-1)
    text_dir = F.normalize(clear - hazy, dim=-1)
    e_in = F.normalize(loss.clip.encode_image(loss.to_clip_input(inp, True)), dim=-1)
    e_out = F.normalize(loss.clip.encode_image(loss.to_clip_input(pred, True)), dim=-1)
    return (1 - F.normalize(e_out - e_in, dim=-1) @ text_dir.t()).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()

    import open_clip
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loss = CLIPHazeClearLoss('ViT-B-32', pretrained=None).to(args.device)
    tokenizer = open_clip.get_tokenizer('ViT-B-32')
    torch.manual_seed(0)
    shape = (args.batch, 3, args.size, args.size)
    base = torch.rand(shape, device=args.device) * 2 - 1
    inp_base = torch.rand(shape, device=args.device) * 2 - 1

    def step(fn):
        def run():
            pred = base.clone().requires_grad_()
            inp = inp_base.clone().requires_grad_()  # the authors' input carries grad too
            fn(pred, inp).backward()
        return run

    with torch.no_grad():
        same = abs(loss(base, inp_base).item()
                   - authors_way(loss, tokenizer, base, inp_base).item())
    measured = interleaved_times(
        dict(ours=step(loss), authors=step(lambda p, i: authors_way(loss, tokenizer, p, i))),
        args.repeats, args.device)
    ours, theirs = measured.spread('ours').median, measured.spread('authors').median
    ratio = measured.ratio('ours', 'authors')
    print(f'H2C loss, ViT-B-32, batch {args.batch} at {args.size}x{args.size}, {args.device}, '
          f'{torch.get_num_threads()} threads, median of {args.repeats} interleaved rounds')
    print(f'  |value difference|          {same:.2e}')
    print(f'  ours    forward+backward    {ours * 1000:8.1f} ms')
    print(f'  authors forward+backward    {theirs * 1000:8.1f} ms')
    print(f'  ratio ours / authors        {ratio.median:8.3f}  (per round: '
          f'{ratio.low:.3f} - {ratio.high:.3f})')


if __name__ == '__main__':
    main()
