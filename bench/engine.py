"""Engine benchmarks; prints figures, passes or fails nothing.

(a) Full fine-tune throughput: the engine's `train()` against a plain PyTorch loop on the
    same model, data, optimizer and batch size (target: ratio >= 0.95).
(b) A 5-epoch linear probe with the frozen prefix cached against the same run without it.

    .venv/bin/python -m bench.engine [--images-per-class 64] [--epochs 3] [--device cpu|cuda]

On CUDA both loops run under the engine's bf16 autocast, and the plain loop is measured at batch 256 too:
at small batches a GPU waits on kernel launches, which is what the engine has to beat.
"""

import argparse
import contextlib
import statistics
import time

import torch
import torch.nn.functional as F

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import normalize
from transfer_core.metrics import EpochMetrics
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import build_model
from transfer_core.resolve import prepared_data
from transfer_core.train import Done, make_optimizer, train


def plain_loop_images_per_second(config: TrainConfig) -> list[float]:
    """The reference: the loop one would write by hand, training images per second per epoch."""
    torch.manual_seed(config.seed)
    device = torch.device(config.device)
    data = prepared_data(config, owner=None)
    model = build_model(config, len(data.classes)).to(device)
    optimizer = make_optimizer(config, model)
    prep = get_spec(config.backbone).preprocessing
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    cuda = device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
    shuffle = torch.Generator().manual_seed(config.seed)
    rates = []
    for _ in range(config.epochs):
        model.train()
        start = time.perf_counter()
        for idx in torch.randperm(len(train_y), generator=shuffle).to(device).split(config.batch_size):
            with autocast:
                loss = F.cross_entropy(model(normalize(train_x[idx], prep)), train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if cuda:
            torch.cuda.synchronize()
        rates.append(len(train_y) / (time.perf_counter() - start))
    return rates


def engine_images_per_second(config: TrainConfig) -> list[float]:
    return [e.images_per_second for e in train(config) if isinstance(e, EpochMetrics)]


def run_seconds(config: TrainConfig, cache_prefix: bool) -> tuple[float, float]:
    start = time.perf_counter()
    done = [e for e in train(config, cache_prefix=cache_prefix) if isinstance(e, Done)][0]
    return time.perf_counter() - start, done.metrics.val_acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images-per-class", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}\n")

    finetune = TrainConfig(
        frozen_stages=0, lr=3e-4, train_per_class=args.images_per_class, epochs=args.epochs, device=args.device
    )
    print(f"(a) full fine-tune, {finetune.backbone}, {finetune.image_size} px, batch {finetune.batch_size}, "
          f"{finetune.train_per_class * 10} images, median of epochs 2..{finetune.epochs}")  # fmt: skip
    engine_rates, plain_rates = [], []
    for _ in range(2):  # interleaved, so drift in machine load hits both alike
        engine_rates += engine_images_per_second(finetune)[1:]
        plain_rates += plain_loop_images_per_second(finetune)[1:]
    engine, plain = statistics.median(engine_rates), statistics.median(plain_rates)
    print(f"    engine     {engine:7.1f} images/s   (epochs: {', '.join(f'{r:.1f}' for r in engine_rates)})")
    print(f"    plain loop {plain:7.1f} images/s   (epochs: {', '.join(f'{r:.1f}' for r in plain_rates)})")
    print(f"    ratio      {engine / plain:7.3f}   (target >= 0.95)")
    if args.device == "cuda":  # what the chip does when launches are not the limit
        wide = statistics.median(plain_loop_images_per_second(finetune.replace(batch_size=256))[1:])
        print(f"    plain loop at batch 256 {wide:7.1f} images/s   (engine at 64: {engine / wide:.2f} of it)")
    print()

    probe = TrainConfig(epochs=5, device=args.device)
    print(f"(b) 5-epoch linear probe, {probe.backbone}, {probe.train_per_class * 10} train + "
          f"{probe.val_per_class * 10} validation images, {probe.image_size} px")  # fmt: skip
    cached, cached_acc = run_seconds(probe, cache_prefix=True)
    uncached, uncached_acc = run_seconds(probe, cache_prefix=False)
    print(f"    cached prefix   {cached:6.1f} s   val acc {cached_acc:.3f}")
    print(f"    no cache        {uncached:6.1f} s   val acc {uncached_acc:.3f}")
    print(f"    speed-up        {uncached / cached:6.1f} x")


if __name__ == "__main__":
    main()
