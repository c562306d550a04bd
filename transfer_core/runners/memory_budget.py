"""What a run's images and activations take in memory, checked against the machine before any data loads.

Every size in a config is inside its allowed range, yet the ranges multiply: 6000 + 6000 images per
class of ten classes at 512 px is 94 GB of pixels. A link or a CLI call asking for that is refused
here, by arithmetic, with the sizes to lower; nothing is allocated first. Inside the budget, a worker
process's memory bound (TRANSFER_LAB_RUN_MEMORY_MB) is the second line of defence.
"""

import os
from pathlib import Path

from transfer_core import settings
from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from transfer_core.messages import say
from transfer_core.settings import MB

# Memory one step holds per value of its float input batch, at most over the registry's backbones
# (measured by bench/memory_budget.py at 64 px: EfficientNet-Lite2 holds the most to train, 233 to 251
# values per input value from run to run, and Lite1 the most for a forward pass without gradients,
# about 45; rounded up for the optimiser and the allocator's slack). A linear probe only ever runs
# the backbone forward.
ACTIVATIONS_PER_INPUT = 288
FORWARD_PER_INPUT = 64
FLOAT_BYTES = 4


class OverBudget(TransferLabError):
    """A config whose images and activations would not fit the memory this server allows a run."""


def images_bytes(images: int, image_size: int) -> int:
    """The run's images as held for training: uint8, three channels."""
    return images * 3 * image_size * image_size


def activations_bytes(config: TrainConfig) -> int:
    """One batch's activations (and gradients, unless the whole backbone is frozen), at most."""
    per_input = FORWARD_PER_INPUT if config.is_linear_probe else ACTIVATIONS_PER_INPUT
    return config.batch_size * 3 * config.image_size**2 * FLOAT_BYTES * per_input


def needed_bytes(config: TrainConfig, classes: int) -> int:
    images = (config.train_per_class + config.val_per_class) * classes
    return images_bytes(images, config.image_size) + activations_bytes(config)


def machine_bytes() -> int:
    """The memory this process may use: the machine's, or its container's limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def budget_bytes() -> int:
    """What one run's data and activations may take: TRANSFER_LAB_MEMORY_BUDGET_MB, else a quarter of
    the machine's memory (the server, the other runs and the feature store need the rest)."""
    budget_mb = settings.current().memory_budget_mb
    return machine_bytes() // 4 if budget_mb is None else budget_mb * MB


def check_budget(config: TrainConfig, classes: int) -> None:
    """OverBudget, saying which sizes to lower, when the config would not fit; before anything loads."""
    needed, budget = needed_bytes(config, classes), budget_bytes()
    if needed <= budget:
        return
    images = (config.train_per_class + config.val_per_class) * classes
    sentence = (
        "this run would need about {needed:.1f} GB of memory ({images} images of {size} px and batches of "
        "{batch}); this server allows a run {budget:.1f} GB. Lower the images per class, the image size or the "
        "batch size ({hint})."
    )
    hint = fitting_hint(config, classes, budget)
    raise OverBudget(say("budget.over", sentence, needed=needed / 1e9, images=images, size=config.image_size,
                         batch=config.batch_size, budget=budget / 1e9, hint=hint))  # fmt: skip


def fitting_hint(config: TrainConfig, classes: int, budget: int) -> str:
    """What would fit: fewer images per class, or (when one batch alone is too much) a smaller batch."""
    per_image = images_bytes(1, config.image_size) * classes
    room = budget - activations_bytes(config)
    if room < per_image * 2:  # the batch is the problem: give it half the budget
        batch = budget // 2 // activations_bytes(config.replace(batch_size=1))
        per_class = budget // 2 // per_image
        sentence = (
            "one batch of {batch} at {size} px alone is over it; a batch of {fits} and about {per_class} "
            "training + validation images per class fit"
        )
        return say("budget.batch", sentence, batch=config.batch_size, size=config.image_size, fits=batch,
                   per_class=per_class)  # fmt: skip
    per_class = room // per_image
    sentence = "at {size} px and this batch, about {per_class} training + validation images per class fit"
    return say("budget.fit", sentence, size=config.image_size, per_class=per_class)
