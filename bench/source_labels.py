"""Transfer that helps and transfer that may hurt: a small CNN trunk is first trained on 1,000 other
Fashion-MNIST images, either with their true labels or with random ones (a source task that can only be
memorised), then carried to the target (20 labelled images per class) and fine-tuned, or probed with its
stages frozen, against the same network from random weights. Each seed's target accuracy, the paired
differences with their 95 % intervals. Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.source_labels            # five seeds, about a minute each on 2 cores
"""

import torch
import torch.nn.functional as F

from transfer_core.data.preparation import normalize, prepare_data
from transfer_core.data.registry import load_shared
from transfer_core.lessons.multitask import TRUNK, TwoHeads
from transfer_core.lessons.questions import paired_interval
from transfer_core.models.backbones import get_spec

PREP = get_spec(TRUNK).preprocessing
SOURCES = ("scratch", "noise", "true")  # random weights; trained on random labels; trained on true labels


def train(model: TwoHeads, x, y, epochs: int, seed: int, head: int, params=None) -> None:
    optimizer = torch.optim.Adam(params if params is not None else model.parameters(), lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=order).split(16):
            loss = F.cross_entropy(model(normalize(x[batch], PREP))[head], y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def score(model: TwoHeads, x, y) -> float:
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(normalize(chunk, PREP))[0].argmax(1) for chunk in x.split(256)])
    return float((predicted == y).float().mean())


def one_seed(raw, seed: int) -> dict[str, float]:
    source, target = prepare_data(raw, 100, 1, 32, 100 + seed), prepare_data(raw, 20, 100, 32, seed)
    noise = torch.randint(0, 10, source.train_y.shape, generator=torch.Generator().manual_seed(seed))
    trunks = {}
    for name, labels in (("noise", noise), ("true", source.train_y)):
        torch.manual_seed(seed)
        model = TwoHeads(10, 10)
        train(model, source.train_x, labels, 15, seed, head=1)
        trunks[name] = model.trunk.state_dict()
    results = {}
    for name in SOURCES:
        for mode in ("fine-tune", "probe"):
            torch.manual_seed(1000 + seed)
            model = TwoHeads(10, 10)
            if name in trunks:
                model.trunk.load_state_dict(trunks[name])
            params = model.main.parameters() if mode == "probe" else None
            train(model, target.train_x, target.train_y, 12, seed, head=0, params=params)
            results[f"{name} {mode}"] = score(model, target.val_x, target.val_y)
    return results


def main(seeds: int = 5) -> None:
    raw = load_shared("fashion_mnist")
    by_run: dict[str, dict[int, float]] = {}
    for seed in range(seeds):
        for run, accuracy in one_seed(raw, seed).items():
            by_run.setdefault(run, {})[seed] = accuracy
        print(seed, {run: round(values[seed], 3) for run, values in by_run.items()}, flush=True)
    for mode in ("fine-tune", "probe"):
        for name in ("noise", "true"):
            mean, half, n = paired_interval(by_run[f"{name} {mode}"], by_run[f"scratch {mode}"])
            print(f"{mode}: source on {name} labels - from random weights: {mean:+.3f} ± {half:.3f} ({n} seeds)")


if __name__ == "__main__":
    main()
