"""A class in real browsers: Chromium tabs, each its own student, press "Start the default lab" on one
server; then one run watched by ten tabs against the same run watched by none. Prints figures, passes
or fails nothing. Loopback only; needs Debian's chromium (scripts/setup.sh --dev installs it).

    .venv/bin/python -m bench.classroom_browser [--tabs 10] [--runner processes|threads]

Prints per tab the seconds from its click to the first movement (the feature pass counting images, or
the live curve) and to "Validation accuracy"; then the training seconds of a short full fine-tune
watched by no tab and by ten tabs (the same session's tabs, all polling it), and the slowdown.

In a classroom each student's browser runs on the student's own machine. Here the browsers share the
server's cores, so the slowdown is measured on a second server that (with its workers) keeps one CPU
while the browsers get the rest; `--share-cores` lets them compete, which measures this machine's
browsers rather than the server. The class's clicks use all cores, browsers included.
"""

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from transfer_core.config import TrainConfig
from transfer_core.store.runs import RunStore

ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"
SCRIPT = os.environ.get("TRANSFER_LAB_SERVE", "serve.py")  # what scripts/start.sh runs
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
WATCHED = TrainConfig(frozen_stages=6, epochs=3, train_per_class=100, val_per_class=50, lr=3e-4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def split_cores(share: bool) -> tuple[set[int] | None, set[int] | None]:
    """CPU sets for the server and for the browsers, or (None, None) to let them share all cores."""
    cores = sorted(os.sched_getaffinity(0))
    if share or len(cores) < 2:
        return None, None
    return set(cores[-1:]), set(cores[:-1])


def start_server(home: Path, runner: str, cores: set[int] | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"TRANSFER_LAB_HOME": str(home), "TRANSFER_LAB_OFFLINE": "1", "TRANSFER_LAB_RUNNER": runner}
    command = [sys.executable, "-m", "streamlit", "run", SCRIPT, "--server.headless", "true",
               "--server.port", str(port), "--server.fileWatcherType", "none"]  # fmt: skip
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None  # workers inherit the CPU set
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pin
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not start within 60 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (here: Playwright's driver)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def cpu_by_kind(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the web server, its worker processes, and the browsers."""
    totals = {"server": cpu_seconds(server_pid), "workers": 0.0, "browsers": 0.0}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == server_pid:
            continue
        try:
            command = (proc / "cmdline").read_bytes().decode(errors="replace")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if "chrom" in command:
            totals["browsers"] += cpu_seconds(int(proc.name))
        elif parent == server_pid:
            totals["workers"] += cpu_seconds(int(proc.name))
    return totals


def settled(page: Page) -> None:
    selector = "[data-testid='stApp'][data-test-script-state='notRunning']"
    expect(page.locator(selector)).to_be_attached(timeout=120_000)


def class_presses_start(browser, url: str, tabs: int) -> list[tuple[float, float]]:
    pages = []
    for _ in range(tabs):
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.goto(url)
        settled(page)
        pages.append(page)
    clicks = []
    for page in pages:
        page.get_by_role("button", name="Start the default lab").click()
        clicks.append(time.monotonic())
    first, done = [None] * tabs, [None] * tabs
    deadline = time.monotonic() + 600
    while None in done and time.monotonic() < deadline:
        for i, page in enumerate(pages):
            if done[i] is None and page.get_by_text("Validation accuracy").count():
                done[i] = time.monotonic() - clicks[i]
            moving = page.get_by_text("Passing the images through the frozen stages").count()
            if first[i] is None and (moving or page.locator(".js-plotly-plot").count() or done[i] is not None):
                first[i] = min(time.monotonic() - clicks[i], done[i] or float("inf"))
        time.sleep(0.25)
    for page in pages:
        page.context.close()
    return list(zip(first, done))


def watched_run_seconds(browser, url: str, home: Path, watchers: int, server_pid: int) -> tuple[float, dict]:
    """Training seconds (all epochs) of the WATCHED run, with `watchers` tabs of its session polling it,
    and the CPU seconds each kind of process used meanwhile."""
    before = cpu_by_kind(server_pid)
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(f"{url}/train?{WATCHED.to_query()}")
    settled(page)
    page.get_by_role("button", name="Launch").click()
    expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=60_000)
    if watchers == 0:
        page.goto("about:blank")  # nobody polls; the run trains on
    for _ in range(watchers - 1):  # tabs opened from this one share its session (sessionStorage is copied)
        with page.context.expect_page() as popup:
            page.evaluate(f"window.open('{url}/train')")
        popup.value.wait_for_load_state()
    store = RunStore(home / "runs")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        records = [r for r in store.list() if r.config == WATCHED]
        newest = max(records, key=lambda r: r.created) if records else None
        if newest is not None and newest.status not in ("queued", "running"):
            used = {kind: seconds - before[kind] for kind, seconds in cpu_by_kind(server_pid).items()}
            page.context.close()
            return newest.summary.seconds, used
        time.sleep(1)
    raise SystemExit("the watched run did not finish")


def show(seconds: float | None) -> str:
    return f"{seconds:.1f} s" if seconds is not None else "never"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--runner", choices=("processes", "threads"), default="processes")
    parser.add_argument("--repeats", type=int, default=3, help="watched / not watched pairs to measure")
    parser.add_argument("--watch-only", action="store_true", help="measure only the watched run")
    parser.add_argument("--share-cores", action="store_true", help="browsers and server on the same cores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        home = Path(folder)
        if not args.watch_only:
            with serving(home / "class", args.runner, None) as (_, url), browsing(playwright) as browser:
                report_class(class_presses_start(browser, url, args.tabs), args.runner)
        server_cores, browser_cores = split_cores(args.share_cores)
        if browser_cores:  # Chromium, started next by Playwright's driver, inherits the driver's CPU set
            for pid in [os.getpid(), *children(os.getpid())]:
                os.sched_setaffinity(pid, browser_cores)
            print(f"watched run: server and workers on CPU {sorted(server_cores)}, browsers on {sorted(browser_cores)}")
        with serving(home / "watch", args.runner, server_cores) as (server, url), browsing(playwright) as browser:
            watched_run_seconds(browser, url, home / "watch", 0, server.pid)  # warms the workers and the cache
            for _ in range(args.repeats):  # alternating, so drift in the machine's speed hits both alike
                alone, alone_cpu = watched_run_seconds(browser, url, home / "watch", 0, server.pid)
                watched, watched_cpu = watched_run_seconds(browser, url, home / "watch", args.tabs, server.pid)
                print(f"a short partial fine-tune: {alone:.1f} s watched by no tab, {watched:.1f} s watched by "
                      f"{args.tabs} tabs ({100 * (watched / alone - 1):+.0f} %)")  # fmt: skip
                for label, used in (("no tab", alone_cpu), (f"{args.tabs} tabs", watched_cpu)):
                    print(f"  CPU seconds meanwhile, {label}: " + ", ".join(f"{k} {v:.1f}" for k, v in used.items()))


def report_class(results: list[tuple[float | None, float | None]], runner: str) -> None:
    print(f"{len(results)} tabs pressed Start on one server ({runner} runner):")
    for i, (first, done) in enumerate(results, 1):
        print(f"  tab {i:2d}: first movement {show(first)}, finished {show(done)}")
    finished = [done for _, done in results if done is not None]
    if finished:
        print(f"  finished: {len(finished)} of {len(results)}, median {statistics.median(finished):.1f} s, "
              f"last {max(finished):.1f} s after its click")  # fmt: skip


@contextlib.contextmanager
def serving(home: Path, runner: str, cores: set[int] | None):
    server, url = start_server(home, runner, cores)
    try:
        yield server, url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextlib.contextmanager
def browsing(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        yield browser
    finally:
        browser.close()


if __name__ == "__main__":
    main()
