"""The setup of a run in a learner's words: one sentence about what transfers from where to what, a
dataset by its title, where runs train. Each function takes `say(key, **values)`, the [setup] sentences
of a language (`english`, or i18n.setup_words for the session's language)."""

from collections.abc import Callable

from transfer_core.config import FOLDER_PREFIX, MINE_PREFIX, TrainConfig
from transfer_core.data.registry import DATASETS, dataset_available
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import frozen_stage_count
from transfer_core.runners.run_state import Compute
from transfer_core.sound.speech import SPEECH_SETS

from .i18n import table

Say = Callable[..., str]


def english(key: str, **values) -> str:
    return table("en")[f"setup.{key}"].format(**values)


def compute_words(compute: Compute, say: Say = english) -> str:
    """Where runs train, in a few words (the sidebar's "Device")."""
    if compute.kind == "ray":
        return say("device_ray", machines=compute.machines, cpus=compute.cpus, gpus=compute.gpus)
    if compute.kind == "cuda":
        return say("device_cuda", name=compute.gpu_name)
    return say("device_cpu", threads=compute.cpu_threads)


def dataset_rows(say: Say = english) -> list[dict]:
    rows = []
    for info in DATASETS.values():
        available, why = dataset_available(info.name)
        rows.append({"dataset": info.name, "title": dataset_words(info.name, say), "available": available,
                     "source": why})  # fmt: skip
    return rows


def starting_weights_words(config: TrainConfig, say: Say = english) -> str:
    """Where the run's starting weights come from, in words."""
    if not config.starts_pretrained:
        return say("random")
    if config.weights.startswith(MINE_PREFIX):
        return say("yours", name=config.weights.removeprefix(MINE_PREFIX))
    reads = get_spec(config.backbone).reads
    if reads == "words":
        return say("source")
    if reads == "text":
        return say("sentence_source")
    if reads == "sound":  # CREPE's weights come from real recordings, the speech CNN's from its source task
        return say("crepe_source") if config.backbone == "crepe_tiny" else say("speech_source")
    return say("imagenet")


def dataset_words(name: str, say: Say = english) -> str:
    """A dataset as a learner names it: its title, not the id a config stores."""
    if name in DATASETS:
        return say(f"dataset_{name}")
    if name.startswith(MINE_PREFIX):
        return say("dataset_mine", name=name.removeprefix(MINE_PREFIX))
    if name.startswith(FOLDER_PREFIX):
        return say("dataset_folder", path=name.removeprefix(FOLDER_PREFIX))
    return name


def describe_config(config: TrainConfig, say: Say = english) -> str:
    """One sentence a learner can read: what transfers, from where, to what."""
    spec = get_spec(config.backbone)
    frozen, stages = frozen_stage_count(config), spec.num_stages
    if config.strategy == "scratch":
        how = say("scratch")
    elif config.strategy == "lpft":
        how = say("lpft", epochs=config.probe_epochs, scale=f"{config.finetune_lr_scale:g}")
    elif config.strategy == "fusion":  # the source's unfrozen stages train alongside the new branch
        kept = say("fusion_frozen") if frozen == stages else say("fusion_partial", frozen=frozen, stages=stages)
        how = say("fusion", mode=config.fusion_mode, kept=kept)
    else:
        kind = say("probe") if frozen == stages else say("full") if frozen == 0 else say("partial")
        how = say("copy", frozen=frozen, stages=stages, kind=kind)
    source = starting_weights_words(config, say)
    return say("config", title=spec.title, source=source, dataset=dataset_words(config.dataset, say), how=how,
               sizes=task_sizes(config, say))  # fmt: skip


def describe_task(config: TrainConfig, say: Say = english) -> str:
    """The task a race runs every strategy on: where from, to what, how much, for how long."""
    spec = get_spec(config.backbone)
    source = starting_weights_words(config, say)
    dataset = dataset_words(config.dataset, say)
    return say("task", title=spec.title, source=source, dataset=dataset, sizes=task_sizes(config, say))


def setting_values(config: TrainConfig, say: Say = english) -> dict[str, str]:
    """Each field of a setup as a learner reads it: frozen stages as "2 of 4 stages", never -1 (how a link
    says "all"), and a strategy in words."""
    values = {field: str(value) for field, value in config.to_dict().items()}
    stages = get_spec(config.backbone).num_stages
    values["frozen_stages"] = say("frozen_of", frozen=frozen_stage_count(config), stages=stages)
    values["strategy"] = say(f"strategy_{config.strategy}")
    return values


def task_sizes(config: TrainConfig, say: Say = english) -> str:
    values = {"per_class": config.train_per_class, "epochs": config.epochs, "lr": f"{config.lr:g}"}
    reads = get_spec(config.backbone).reads
    if reads == "words":  # words have no size in pixels
        return say("word_sizes", **values)
    if reads == "text":
        return say("sentence_sizes", **values)
    if reads == "sound":  # one-second clips, as they are
        return say("clip_sizes", **values)
    if config.dataset in SPEECH_SETS:  # sound, drawn as pictures for an image network
        return say("spectrogram_sizes", size=config.image_size, **values)
    return say("image_sizes", size=config.image_size, **values)
