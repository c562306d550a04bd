"""Model choice, measured: a linear probe from each source whose ImageNet weights are here, on lesson 1's
task, three seeds each; each source's published ImageNet top-1 beside it, Pearson's r between the two, and
the answer to lesson 8's question. Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.model_choice            # measure and print
    .venv/bin/python -m bench.model_choice --write    # also write assets/model_choice.json (lesson 8's figure)
"""

import argparse
import statistics

from bench.lessons import run
from transfer_core.lessons import model_choice
from transfer_core.lessons.questions import SEEDS, paired_interval
from transfer_core.lessons.reference import save_measured
from transfer_core.models.weights import weights_available


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write assets/model_choice.json")
    args = parser.parse_args()
    here = [name for name in model_choice.SOURCES if weights_available(name)[0]]
    accuracy, seconds = {}, {}
    for name, config in model_choice.choice_runs(here).items():
        results = {seed: run(config.replace(seed=seed)) for seed in SEEDS}
        accuracy[name] = {seed: r.val_acc for seed, r in results.items()}
        seconds[name] = statistics.mean(r.seconds for r in results.values())
        values = " ".join(f"{v:.3f}" for v in accuracy[name].values())
        top1 = model_choice.SOURCES[name].top1
        print(f"{name:20} top-1 {top1:6.2f}  probe {values}  mean {statistics.mean(accuracy[name].values()):.3f}"
              f"  {seconds[name]:.1f} s/run")  # fmt: skip
    ranked = sorted(accuracy, key=lambda name: model_choice.SOURCES[name].top1)
    mean, half, n = paired_interval(accuracy[ranked[-1]], accuracy[ranked[0]])
    print(f"{ranked[-1]} - {ranked[0]}: {mean:+.3f} ± {half:.3f} (95 % interval over {n} paired seeds)")
    r = model_choice.correlation(accuracy)
    shown_r = "-" if r is None else f"{r:.2f}"
    print(f"verdict: {model_choice.decide(accuracy)}; Pearson r (top-1, mean accuracy) = {shown_r} over "
          f"{len(accuracy)} sources (Kornblith et al. 2019: 0.99 for fixed features over 16 networks)")  # fmt: skip
    if args.write:
        save_measured(model_choice.MEASURED, "python -m bench.model_choice --write", accuracy, seconds)
        print(f"wrote {model_choice.MEASURED}")


if __name__ == "__main__":
    main()
