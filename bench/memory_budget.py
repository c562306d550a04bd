"""What one training step costs in memory per input value, for every backbone: the figure behind
`memory_budget.ACTIVATIONS_PER_INPUT`. Each backbone is measured in a fresh process (peak resident
memory during a forward and backward pass of full fine-tuning, less the memory before it).

    .venv/bin/python -m bench.memory_budget [--size 64] [--batch 64]
"""

import argparse
import resource
import subprocess
import sys


def measure(backbone: str, size: int, batch: int, train: bool) -> float:
    """Bytes held by one training step (or, with `train` False, one forward pass without gradients, as
    a probe's frozen features are computed) over the bytes of its float input."""
    import torch

    from transfer_core.models.backbones import get_spec

    torch.set_num_threads(2)
    model = get_spec(backbone).build_raw()
    inputs = torch.randn(batch, 3, size, size)
    model.requires_grad_(train)
    with torch.set_grad_enabled(train):
        step(model, inputs[:1], train)  # allocator and kernels warmed; gradients exist from here on
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        step(model, inputs, train)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return (peak - before) / inputs.numel() / 4


def step(model, inputs, train: bool) -> None:
    out = model.forward_features(inputs) if hasattr(model, "forward_features") else model(inputs)
    if train:
        out.sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's backbone
    parser.add_argument("--forward", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(measure(args.one, args.size, args.batch, train=not args.forward))
        return
    from transfer_core.models.backbones import BACKBONES
    from transfer_core.runners.memory_budget import ACTIVATIONS_PER_INPUT, FORWARD_PER_INPUT

    print(f"at {args.size} px, batch {args.batch}: memory held per input value (float32), training / forward only")
    for name in BACKBONES:
        held = []
        for extra in ([], ["--forward"]):
            command = [sys.executable, "-m", "bench.memory_budget", "--one", name, "--size", str(args.size),
                       "--batch", str(args.batch), *extra]  # fmt: skip
            held.append(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout))
        print(f"  {name:22s} {held[0]:6.1f} / {held[1]:5.1f}")
    print(f"the budget assumes {ACTIVATIONS_PER_INPUT} / {FORWARD_PER_INPUT}")


if __name__ == "__main__":
    main()
