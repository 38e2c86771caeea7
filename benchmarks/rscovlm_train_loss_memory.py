"""Peak memory and time of the training loss of one long sample: fp32 logits (plain) vs chunked over hidden states.

One sample of ``--tokens`` positions, all supervised (the worst case), a head of ``--vocab`` x ``--hidden`` in fp32
(bf16 matrix products are very slow on most CPUs; bf16 halves both variants' inputs alike); forward and backward of
the summed token losses. Each variant runs in its own process, so the
process's peak resident memory (``ru_maxrss``) minus its resident memory before the loss is that loss's peak.
Prints both peaks, their ratio, the times and the largest difference between the two losses.

    uv run --no-sync python benchmarks/rscovlm_train_loss_memory.py [--tokens 6144] [--vocab 151936] [--hidden 1024]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from rscovlm_train.losses import chunked_token_losses, token_losses


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def run(variant: str, tokens: int, vocab: int, hidden_size: int, out: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(1, tokens, hidden_size, generator=generator).requires_grad_()
    weight = (torch.randn(vocab, hidden_size, generator=generator) * 0.02).requires_grad_()
    labels = torch.randint(0, vocab, (1, tokens), generator=generator)
    before = resident_bytes()
    start = time.perf_counter()
    if variant == "plain":
        losses, scored = token_losses(hidden @ weight.T, labels)
    else:
        losses, scored = chunked_token_losses(hidden, weight, labels)
    losses[scored].sum().backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux
    torch.save(losses.detach(), out.with_suffix(".pt"))
    out.write_text(json.dumps({"peak": peak - before, "seconds": seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=6144)
    parser.add_argument("--vocab", type=int, default=151936)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--variant", choices=["plain", "chunked"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        run(args.variant, args.tokens, args.vocab, args.hidden, args.out)
        return
    import tempfile

    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for variant in ("plain", "chunked"):
            out = Path(scratch) / f"{variant}.json"
            sizes = ["--tokens", str(args.tokens), "--vocab", str(args.vocab), "--hidden", str(args.hidden)]
            command = [sys.executable, __file__, "--variant", variant, "--out", str(out), *sizes]
            subprocess.run(command, check=True)
            results[variant] = {**json.loads(out.read_text()), "losses": torch.load(out.with_suffix(".pt"))}
    plain, chunked = results["plain"], results["chunked"]
    difference = float((plain["losses"] - chunked["losses"]).abs().max())
    print(f"one sample of {args.tokens} tokens, head {args.vocab} x {args.hidden} (fp32), forward + backward")
    for name, result in (("plain (fp32 logits)", plain), ("chunked (1024 rows)", chunked)):
        print(f"{name:<22} peak {result['peak'] / 2**30:6.2f} GiB  {result['seconds']:6.2f} s")
    print(f"peak memory plain / chunked: {plain['peak'] / max(chunked['peak'], 1):.1f}x")
    print(f"largest token-loss difference: {difference:.2e}")


if __name__ == "__main__":
    main()
