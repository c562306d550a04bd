"""Every GPU figure in one call, for a machine lent with CUDA for a few minutes; prints figures, passes or
fails nothing. Each step is a separate process with its own time limit, so one slow step cannot eat the
others' time, and its output is printed as it comes.

    .venv/bin/python -m bench.gpu [--device cuda] [--quick]

Steps: the engine against a plain loop (batch 64 and 256), a cold command line's first batch, a class of
30 default labs and of 30 full fine-tunes on one GPU (process runner, several slots), and the tests' GPU
tier. `--device cpu --quick` runs the same steps small on a machine without a GPU (to try the script).
"""

import argparse
import os
import pty
import subprocess
import sys
import tempfile
import time

STEP_SECONDS = 150


def step(title: str, command: list[str], seconds: float = STEP_SECONDS) -> None:
    print(f"\n=== {title}\n$ {' '.join(command)}", flush=True)
    start = time.perf_counter()
    try:
        subprocess.run(command, timeout=seconds, check=False)
    except subprocess.TimeoutExpired:
        print(f"(stopped after {seconds:.0f} s)")
    print(f"--- {time.perf_counter() - start:.1f} s", flush=True)


def first_batch_seconds(device: str) -> float:
    """Seconds from launching `python -m transfer_core train` to its first batch line (stderr on a tty)."""
    start = time.perf_counter()
    ours, theirs = pty.openpty()
    command = [sys.executable, "-m", "transfer_core", "train", "--device", device, "--epochs", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=theirs)
    os.close(theirs)
    seen = b""
    try:
        while b"batch 1/" not in seen and process.poll() is None:
            seen += os.read(ours, 4096)
        return time.perf_counter() - start
    finally:
        process.kill()
        os.close(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    args = parser.parse_args()
    python = sys.executable
    os.environ.setdefault("TRANSFER_LAB_OFFLINE", "1")
    os.environ["TRANSFER_LAB_HOME"] = tempfile.mkdtemp(prefix="bench-gpu-")
    students, per_class = ("4", "16") if args.quick else ("30", "200")

    step("engine vs plain loop", [python, "-m", "bench.engine", "--device", args.device,
                                  "--images-per-class", per_class, "--epochs", "2" if args.quick else "4"])  # fmt: skip
    print("\n=== cold command line: first batch of the default lab")
    for attempt in ("first (computes the frozen features)", "again (reads them from the feature store)"):
        print(f"    {attempt}: {first_batch_seconds(args.device):.2f} s", flush=True)
    slots = "1" if args.quick else "4"
    for mode in ([], ["--finetune"]):
        step(f"a class of {students}: {'full fine-tunes' if mode else 'default labs'}",
             [python, "-m", "bench.classroom", "--runner", "processes", "--device", args.device, "--slots", slots,
              "--students", students, *mode])  # fmt: skip
    if args.device == "cuda":
        tier = [python, "-m", "pytest", "-q", "-m", "gpu", "tests/test_gpu.py", "-p", "no:cacheprovider"]
        step("the tests' GPU tier", tier)


if __name__ == "__main__":
    main()
