"""The transfer-by-layer lab at the Layers page's defaults, over several seeds: every point's accuracy
(the mean over seeds), the bases, the verdict at the deepest copy with its paired interval, and how long
the lab took. Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.layer_lab              # three seeds, as the page runs by default
"""

import argparse
import statistics
import tempfile
import time
from collections import defaultdict

from transfer_core.lessons.layer_lab import KINDS, LabSettings, LayerLab, lab_points, lab_verdict
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import RunStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        runner = Runner(RunStore(home))
        started = time.perf_counter()
        lab = LayerLab(runner, "bench", LabSettings(seeds=args.seeds))
        while lab.state["status"] == "running":
            time.sleep(1)
        took = time.perf_counter() - started
        points, bases = lab_points(runner, lab.state)
        runner.close()
    print(f"status {lab.state['status']} {lab.state['message']}; {took:.0f} s for {len(points) + len(bases)} trainings")
    print("bases:", ", ".join(f"{name} {acc:.3f}" for name, acc in bases.items()))
    by_point = defaultdict(list)
    for point in points:
        by_point[(point["n"], point["kind"])].append(point["val_acc"])
    for n in sorted({n for n, _ in by_point}):
        shown = "  ".join(f"{kind} {statistics.mean(by_point[(n, kind)]):.3f}" for kind in KINDS)
        print(f"n={n}: {shown}")
    verdict, n, drop, half = lab_verdict(points)
    print(f"at n={n}: BnB - AnB {drop:+.3f} ± {half:.3f} over {args.seeds} seeds: {verdict}")


if __name__ == "__main__":
    main()
