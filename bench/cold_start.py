"""How soon a freshly started server's home page is usable: seconds from opening the page (the server
answering its health check, nothing imported by a session yet) to the "Start the default lab" button
and to the sidebar's navigation. Prints figures; loopback only; needs Debian's chromium.

    .venv/bin/python -m bench.cold_start [--repeats 3]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bench.classroom_browser import ARGS, CHROMIUM, serving


def open_cold(playwright, runner: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as home, serving(Path(home), runner, None) as (_, url):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        start = time.monotonic()
        page.goto(url)
        expect(page.get_by_role("button", name="Start the default lab")).to_be_visible(timeout=60_000)
        button = time.monotonic() - start
        expect(page.get_by_test_id("stSidebarNavItems")).to_be_visible(timeout=60_000)
        navigation = time.monotonic() - start
        browser.close()
    return button, navigation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runner", choices=("processes", "threads"), default="processes")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        times = [open_cold(playwright, args.runner) for _ in range(args.repeats)]
    for i, (button, navigation) in enumerate(times, 1):
        print(f"cold server {i}: home page usable (Start button) {button:.1f} s, navigation {navigation:.1f} s")
    print(f"median: {statistics.median(b for b, _ in times):.1f} s to a usable home page")


if __name__ == "__main__":
    main()
