"""About how long a run takes on a CPU like the lab's, before it starts: seconds per image the lab
measured on 2 cores (the lessons' reference runs, bench/lessons.py, EfficientNet-Lite0 at 64 px), scaled by
the backbone's compute and the image size. Said as an estimate ("about 4 minutes"), never promised: another
machine, a GPU or a busy server changes it.
"""

from transfer_core.config import TrainConfig
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import frozen_stage_count

# Seconds per image on 2 cores, EfficientNet-Lite0 at 64 px, fitted to the reference runs: lesson 1's from
# scratch (107 s for 500 images x 8 epochs, validation on 500 each epoch), lesson 2's full fine-tune (54 s,
# 4 epochs) and lesson 5's (20 s, 100 images); lesson 4's fusion (21.5 s for 4 epochs).
TRAIN_STEP = 0.022  # forward and backward through every stage
FORWARD = 0.005  # forward only, in eval mode: validation, or a frozen prefix's outputs computed once
FUSION_STEP = 0.006  # the small branch beside a frozen source, forward and backward
# Multiply-adds relative to EfficientNet-Lite0 (407M, 631M, 899M at their own sizes). The small CNN's is
# measured instead: the layer lab's base (1,000 images at 32 px, 4 epochs, validation on 500) took 75.6 s
# while another training shared the two cores, about 35 s alone; its plain 3x3 convolutions cost far more
# per multiply-add than their count suggests (1.4 here; 0.1 from the count said 2.5 s).
RELATIVE = {"efficientnet_lite0": 1.0, "efficientnet_lite1": 1.55, "efficientnet_lite2": 2.2, "small_cnn": 1.4}


def expected_seconds(config: TrainConfig, classes: int) -> float | None:
    """About how many seconds the run trains on 2 cores; None for a backbone the lab has not timed."""
    relative = RELATIVE.get(config.backbone)
    if relative is None:
        return None
    scale = relative * (config.image_size / 64) ** 2
    train, val = config.train_per_class * classes, config.val_per_class * classes
    stages = get_spec(config.backbone).num_stages
    frozen = frozen_stage_count(config)
    validation = FORWARD * val * config.epochs
    if config.strategy == "fusion":
        return scale * (FORWARD * (train + val) + FUSION_STEP * train * config.epochs + validation)
    if config.strategy == "lpft":  # the probe's epochs on cached features, then every stage trains
        fine_epochs = config.epochs - config.probe_epochs
        return scale * (FORWARD * (train + val) + TRAIN_STEP * train * fine_epochs + validation)
    if frozen >= stages:  # a linear probe: the features once, then only the head
        return scale * FORWARD * (train + val)
    trained = (stages - frozen) / stages
    return scale * (FORWARD * (train + val) * (frozen > 0) + TRAIN_STEP * trained * train * config.epochs + validation)


def said_minutes(seconds: float) -> int:
    """Whole minutes, at least one: how an estimate is said."""
    return max(1, round(seconds / 60))
