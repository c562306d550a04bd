"""The command line: the same core, without a browser.

python -m transfer_core backbones
python -m transfer_core datasets
python -m transfer_core train [--backbone NAME --epochs N ...] [--json]
python -m transfer_core predict IMAGE [--backbone NAME]
python -m transfer_core import-dataset FILE.zip [--save NAME]   (class folders of images or WAV files)
python -m transfer_core export [--backbone NAME ...] [--notebook] > run.py
python -m transfer_core prepare LESSON [--seeds N]
"""

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from transfer_core import settings
from transfer_core.config import CSV_PREFIX, TrainConfig
from transfer_core.data.registry import DATASETS, FOLDER_PREFIX, dataset_available
from transfer_core.data.uploads import IMAGES, import_zip, zip_holds_sound
from transfer_core.data.user_data import check_name, write_folder
from transfer_core.errors import TransferLabError
from transfer_core.lessons import classroom, export
from transfer_core.lessons.questions import LESSONS
from transfer_core.metrics import EpochMetrics
from transfer_core.model_inputs import FeaturesReady
from transfer_core.models.backbones import BACKBONES, build_backbone, get_spec
from transfer_core.models.imagenet import predict_topk
from transfer_core.models.weights import weights_available
from transfer_core.resolve import check
from transfer_core.runners.choose import stores_for
from transfer_core.runners.runner import Runner
from transfer_core.sound.upload import CLIPS
from transfer_core.text.upload import read_csv_file
from transfer_core.train import BatchProgress, Done, Failed, Started, train

READS = {"images": "images (and sound, drawn as spectrograms)", "words": "words", "sound": "sound", "text": "text"}
INPUT = {
    "images": lambda size: f"{size} px",
    "words": lambda size: f"{size} letters",
    "sound": lambda size: f"{size:,} samples (one second at 16 kHz)",
    "text": lambda size: f"{size} WordPiece tokens",
}


def cmd_backbones(args) -> int:
    for spec in BACKBONES.values():
        available, why = weights_available(spec.name) if spec.has_pretrained else (False, spec.weights_source)
        print(f"{spec.name}  ({spec.title})")
        print(f"  reads: {READS[spec.reads]}")
        print(f"  stages ({spec.num_stages}): {', '.join(spec.stage_names)}")
        print(f"  features: {spec.feature_dim}   input: {INPUT[spec.reads](spec.preprocessing.input_size)}")
        print(f"  weights: {spec.weights_source}")
        print(
            f"  pretrained available offline now: {'yes' if available else 'no'}" + ("" if available else f" - {why}")
        )
    return 0


def cmd_datasets(args) -> int:
    for info in DATASETS.values():
        available, why = dataset_available(info.name)
        print(f"{info.name}  ({info.title}): {'available' if available else 'not available'} - {why}")
    print("folder:PATH  any folder with one sub-folder of images (or of WAV files) per class")
    print("csv:PATH  a CSV file of text,label rows (sentences, read by a text backbone)")
    return 0


def cmd_import_dataset(args) -> int:
    """Check a zip exactly as the app does; with --save, keep the accepted images as a folder dataset."""
    limits = settings.current().uploads
    try:
        data = Path(args.zip).read_bytes()
    except OSError as err:
        print(f"error: cannot read {args.zip} ({err.strerror})", file=sys.stderr)
        return 2
    result = import_zip(data, limits, CLIPS if zip_holds_sound(data) else IMAGES)
    for name, count in result.counts.items():
        print(f"accepted  {name}: {count} {result.unit}s")
    for refusal in result.refused:
        print(f"refused   {refusal.name}: {refusal.reason}")
    print(result.summary())
    if args.save:
        folder = write_folder(result.dataset, settings.current().data_dir / "imports" / check_name(args.save))
        print(f"saved to {folder}; train on it with --dataset {FOLDER_PREFIX}{folder}")
    return 0


def config_from(args) -> TrainConfig:
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    return TrainConfig.from_dict(given)


SOURCES = {"computed": "computed and stored", "stored": "read from the feature store",
           "repaired": "a damaged stored copy computed again", "memory": "computed"}  # fmt: skip


def report_csv(config: TrainConfig) -> None:
    """A CSV dataset's rows left out, and why, before training on the rest."""
    if config.dataset.startswith(CSV_PREFIX):
        result = read_csv_file(config.dataset.removeprefix(CSV_PREFIX), settings.current().uploads)
        for refusal in result.refused:
            print(f"left out  {refusal.name}: {refusal.reason}", file=sys.stderr)
        print(result.summary(), file=sys.stderr)


def cmd_train(args) -> int:
    config = check(config_from(args))
    report_csv(config)
    final = None
    store, features = stores_for(settings.current())  # init_from names a run there; features computed once
    for event in train(config, store=store, features=features):
        if isinstance(event, Started):
            cache = ", frozen prefix cached" if event.cached_prefix else ""
            print(f"training on {event.device}: {event.trainable_parameters:,} of {event.total_parameters:,} "
                  f"parameters trainable{cache}", file=sys.stderr)  # fmt: skip
        elif isinstance(event, FeaturesReady):
            print(f"frozen-prefix features: {SOURCES[event.source]} ({event.seconds:.1f} s)", file=sys.stderr)
        elif isinstance(event, BatchProgress) and sys.stderr.isatty():
            print(f"\repoch {event.epoch}/{event.epochs} batch {event.batch}/{event.batches} "
                  f"loss {event.loss:.3f}", end="", file=sys.stderr, flush=True)  # fmt: skip
        elif isinstance(event, EpochMetrics):
            print(f"\repoch {event.epoch}: train acc {event.train_acc:.3f}  val acc {event.val_acc:.3f}  "
                  f"val loss {event.val_loss:.3f}  {event.seconds:.1f} s", file=sys.stderr)  # fmt: skip
        elif isinstance(event, Done):
            final = event.metrics.to_dict() | {"total_seconds": event.seconds}
        elif isinstance(event, Failed):
            raise TransferLabError(event.message)
    if args.json:
        print(json.dumps(final | {"config": config.to_dict()}))
    return 0


def cmd_predict(args) -> int:
    try:
        image = Image.open(args.image)
        image.load()
    except (OSError, UnidentifiedImageError) as err:
        raise TransferLabError(f"cannot read {args.image} as an image ({err}).") from err
    model = build_backbone(args.backbone, pretrained=True)
    for p in predict_topk(model, image, get_spec(args.backbone).preprocessing, k=args.top):
        print(f"{p.probability:6.1%}  {p.label}")
    return 0


def cmd_export(args) -> int:
    """A setup as a plain PyTorch script (or notebook) on standard output."""
    config = config_from(args)
    print(export.notebook(config) if args.notebook else export.script(config), end="")
    return 0


def cmd_prepare(args) -> int:
    """Run a lesson's experiment for every seed a class will use, into the store the app reads."""
    lesson = next((lesson for lesson in LESSONS if lesson.key == args.lesson and lesson.experiment), None)
    if lesson is None:
        keys = ", ".join(lesson.key for lesson in LESSONS if lesson.experiment)
        raise TransferLabError(f"no lesson experiment {args.lesson!r}; choose one of {keys}.")
    where = settings.current()
    store, features = stores_for(where)
    runner = Runner(store, features=features, max_queue=10_000)
    try:
        queued, _ = classroom.prepare(runner, lesson, range(args.seeds or where.class_size))
        print(f"{lesson.key}: {len(queued)} run(s) to train; the rest were prepared already")
        for done, run_id in enumerate(queued.values(), start=1):
            while not runner.snapshot(run_id).finished:
                time.sleep(0.5)
            snapshot = runner.snapshot(run_id)
            print(f"  {done}/{len(queued)} {snapshot.status} seed {snapshot.config.seed}", flush=True)
    finally:
        runner.close()
    return 0


def add_config_options(parser: argparse.ArgumentParser) -> None:
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        parser.add_argument(flag, dest=f.name, metavar=type(getattr(defaults, f.name)).__name__.upper(),
                            help=f"default: {getattr(defaults, f.name)}")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m transfer_core", description="Transfer Lab's engine.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backbones", help="list backbones, their stages and weights").set_defaults(run=cmd_backbones)
    commands.add_parser("datasets", help="list datasets and what is available offline").set_defaults(run=cmd_datasets)
    train_parser = commands.add_parser("train", help="train one run and show live progress")
    add_config_options(train_parser)
    train_parser.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    train_parser.set_defaults(run=cmd_train)
    predict = commands.add_parser("predict", help="top ImageNet classes of an image file")
    predict.add_argument("image")
    predict.add_argument(
        "--backbone", default="efficientnet_lite0", choices=[n for n, s in BACKBONES.items() if s.has_pretrained]
    )
    predict.add_argument("--top", type=int, default=5)
    predict.set_defaults(run=cmd_predict)
    importer = commands.add_parser("import-dataset", help="check a zip of class folders of images, as the app does")
    importer.add_argument("zip")
    importer.add_argument("--save", metavar="NAME", help="keep the accepted images in the data folder as NAME")
    importer.set_defaults(run=cmd_import_dataset)
    exporter = commands.add_parser("export", help="print a setup as a plain PyTorch script (or a notebook)")
    add_config_options(exporter)
    exporter.add_argument("--notebook", action="store_true", help="a Jupyter notebook instead of a script")
    exporter.set_defaults(run=cmd_export)
    preparer = commands.add_parser("prepare", help="run a lesson's experiment ahead of class, for every seed")
    preparer.add_argument("lesson", help="the lesson's key, as in its page's address (learn_KEY)")
    preparer.add_argument("--seeds", type=int, help="one per student (default: TRANSFER_LAB_CLASS_SIZE)")
    preparer.set_defaults(run=cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except TransferLabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
