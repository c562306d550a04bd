"""Everything a learner sees of the default lab, written to a folder, so a change meant to leave behaviour
alone (a move of modules, a rename) can be checked byte for byte: run it before and after, then `diff -r`.

    python -m tests.outputs_snapshot OUT_DIR

It writes every page as Streamlit's AppTest renders it (each element's protobuf, figures included) with the
default lab in its link, before and after that lab trains on the thread runner; the command line's
`backbones`, `datasets`, `predict`, `train --json` and `export` (script and notebook) of the default lab.
What differs from one run to the next by nature (run ids, clock times, seconds, temporary folders) is masked.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sklearn.datasets

MASKS = [
    (re.compile(r"\b\d{8}-\d{6}-[0-9a-f]+\b"), "<run id>"),  # run ids: a time stamp and a random suffix
    (re.compile(r"\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?\b"), "<time>"),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<clock>"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|seconds|ms|min)\b"), "<seconds>"),
    (re.compile(r'"(total_seconds|seconds|images_per_second)": [0-9.e-]+'), r'"\1": <varies>'),
    (re.compile(r"seconds\s*\|?\s*[0-9.]+"), "seconds <seconds>"),
    (re.compile(r"/tmp/[^\s\"']+"), "<tmp>"),
    (re.compile(r"\b[0-9a-f]{32,64}\b"), "<digest>"),
    (re.compile(r"`[0-9a-f]{12}`"), "`<run id>`"),
    (re.compile(r'"id": "[0-9a-f]{8}"'), '"id": "<notebook cell id>"'),
]


def masked(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


VARYING_COLUMNS = ["seconds", "images per second", "run"]  # a run's speed, and its id


def element_text(node) -> str:
    """A table as its rows (its Arrow bytes would hold run ids and speeds unmasked), a metric of time
    without its value, anything else as its protobuf."""
    kind = type(node).__name__
    if kind == "Dataframe":
        return node.value.drop(columns=VARYING_COLUMNS, errors="ignore").to_csv()
    if kind == "Metric" and "econds" in node.label:
        return f"{node.label}: <seconds>"
    return str(node.proto)


def elements(node, depth: int = 0):
    """Each element under an AppTest node, as indented text, in page order."""
    if getattr(node, "proto", None) is not None:
        yield "  " * depth + f"[{type(node).__name__}] " + element_text(node).replace("\n", " | ")
    for child in getattr(node, "children", {}).values():
        yield from elements(child, depth + 1)


def page_text(at) -> str:
    return masked("\n".join([*elements(at.main), "--- sidebar ---", *elements(at.sidebar)]))


def write_pages(out: Path) -> None:
    from tests.apptest import finish_active_run, open_app
    from transfer_core.config import TrainConfig

    pages = sorted(str(p) for p in Path("app_pages").glob("*.py"))
    for page in pages:
        (out / f"page-{Path(page).stem}.txt").write_text(page_text(open_app(page, TrainConfig())))
    at = open_app("app_pages/train.py", TrainConfig())
    next(b for b in at.button if b.label == "Launch").click().run()
    finish_active_run(at, timeout=600)
    (out / "page-train-after-the-run.txt").write_text(page_text(at))
    for page in ("app_pages/results.py", "app_pages/features.py", "app_pages/ledger.py", "app_pages/compare.py"):
        at.switch_page(page).run()
        (out / f"page-{Path(page).stem}-after-the-run.txt").write_text(page_text(at))


def write_cli(out: Path) -> None:
    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "transfer_core", *args], capture_output=True, text=True)
        return masked(f"exit {done.returncode}\n--- stdout ---\n{done.stdout}--- stderr ---\n{done.stderr}")

    (out / "cli-backbones.txt").write_text(cli("backbones"))
    (out / "cli-datasets.txt").write_text(cli("datasets"))
    photo = Path(sklearn.datasets.__file__).parent / "images" / "china.jpg"  # a photo scikit-learn ships
    (out / "cli-predict.txt").write_text(cli("predict", str(photo)))
    (out / "cli-export.py").write_text(cli("export"))
    (out / "cli-export-notebook.txt").write_text(cli("export", "--notebook"))
    (out / "cli-train.txt").write_text(cli("train", "--device", "cpu", "--json"))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    home = tempfile.mkdtemp(prefix="outputs-snapshot-")
    os.environ |= {"TRANSFER_LAB_HOME": home, "TRANSFER_LAB_OFFLINE": "1", "TRANSFER_LAB_RUNNER": "threads"}
    os.environ |= {"TORCH_HOME": str(Path(home) / "torch")}
    write_cli(out)
    write_pages(out)
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
