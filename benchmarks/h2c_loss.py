"""Time the H2C loss: CLIPHazeClearLoss vs the authors' procedure, measured in one run.

Both compute the same value for a batch of dehazed outputs and inputs (256x256 by default) with
the ViT-B-32 architecture (random weights are fine for timing):

- ours: input branch under ``torch.no_grad()``, text direction cached at construction;
- authors': input branch with autograd and the prompts re-encoded every call.

Prints the mean forward+backward time of each and their ratio.

    python benchmarks/h2c_loss.py [--batch 4] [--size 256] [--repeats 5] [--device cpu]
"""
import argparse
import time
import warnings

import torch
import torch.nn.functional as F

import mmbilalora  # noqa: F401
from mmbilalora.models.losses import CLIPHazeClearLoss


def authors_way(loss: CLIPHazeClearLoss, tokenizer, pred: torch.Tensor,
                inp: torch.Tensor) -> torch.Tensor:
    """H2C as in the released code: grads through the input branch, text encoded per call."""
    hazy = F.normalize(loss.clip.encode_text(tokenizer([p[0] for p in loss.prompts])), dim=-1)
    clear = F.normalize(loss.clip.encode_text(tokenizer([p[1] for p in loss.prompts])), dim=-1)
    text_dir = F.normalize(clear - hazy, dim=-1)
    e_in = F.normalize(loss.clip.encode_image(loss.to_clip_input(inp, True)), dim=-1)
    e_out = F.normalize(loss.clip.encode_image(loss.to_clip_input(pred, True)), dim=-1)
    return (1 - F.normalize(e_out - e_in, dim=-1) @ text_dir.t()).mean()


def timed(fn, repeats: int, device: str) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


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
    ours = timed(step(loss), args.repeats, args.device)
    theirs = timed(step(lambda p, i: authors_way(loss, tokenizer, p, i)), args.repeats,
                   args.device)
    print(f'H2C loss, ViT-B-32, batch {args.batch} at {args.size}x{args.size}, {args.device}, '
          f'{torch.get_num_threads()} threads, mean of {args.repeats}')
    print(f'  |value difference|          {same:.2e}')
    print(f'  ours    forward+backward    {ours * 1000:8.1f} ms')
    print(f'  authors forward+backward    {theirs * 1000:8.1f} ms')
    print(f'  ratio ours / authors        {ours / theirs:8.3f}')


if __name__ == '__main__':
    main()
