"""Transfer: how the source's knowledge is carried over, and how training runs."""

import streamlit as st

from transfer_core import user_data
from transfer_core.backbones import get_spec
from transfer_core.catalog import cuda_available, frozen_stage_count, parameter_budget, trainable_parameters
from transfer_core.config import ALL_STAGES, FUSION_MODES, OPTIMIZERS
from transfer_core.plots import stage_diagram
from ui.config_state import current_config, update_config
from ui.session import owner
from ui.widgets import bind

STRATEGY_LABELS = {
    "copy": "Feature copy: re-use the pretrained stages",
    "fusion": "Feature fusion: frozen source + a small new branch",
    "scratch": "From scratch: same network, random weights (baseline)",
}
FUSION_LABELS = {"concat": "concatenate", "sum": "sum", "gate": "learned gate"}
WEIGHT_LABELS = {"imagenet": "ImageNet weights", "random": "random weights"}
IMAGE_SIZES = [32, 48, 64, 96, 128, 160, 224]
NUM_CLASSES_FOR_COUNTS = 10  # the head's size barely matters next to the backbone's


def strategy_ui() -> None:
    config = current_config()
    spec = get_spec(config.backbone)
    starts = weight_choices(config.backbone, spec.has_pretrained)
    if config.weights not in starts:  # a link naming weights this session does not have
        starts = {config.weights: config.weights, **starts}
    options = list(STRATEGY_LABELS) if len(starts) > 1 else ["scratch"]
    strategy = bind(st.radio, "Strategy", "strategy", options, format_func=STRATEGY_LABELS.get)
    if strategy != "scratch":
        bind(st.radio, "Start from", "weights", list(starts), format_func=starts.get, horizontal=True)


def weight_choices(backbone: str, has_pretrained: bool) -> dict[str, str]:
    """ImageNet's weights when the backbone has them, random ones, and any this session brought for it."""
    choices = {"imagenet": WEIGHT_LABELS["imagenet"]} if has_pretrained else {}
    choices["random"] = WEIGHT_LABELS["random"]
    for name, made_for in user_data.saved_weights(owner()).items():
        if made_for == backbone:
            choices[user_data.mine(name)] = f"my weights: {name}"
    return choices


def freeze_ui() -> None:
    config = current_config()
    stages = get_spec(config.backbone).num_stages
    if config.strategy == "scratch":
        st.caption("From scratch trains every stage: nothing to freeze.")
        return
    bind(
        st.slider,
        "Frozen stages (from the input side)",
        "frozen_stages",
        0,
        stages,
        encode=lambda k: stages if k == ALL_STAGES else k,
        decode=lambda k: ALL_STAGES if k == stages else k,
        help=f"{stages} = all frozen (a linear probe); 0 = everything fine-tuned.",
    )
    if config.strategy == "fusion":
        bind(st.radio, "Fusion", "fusion_mode", FUSION_MODES, format_func=FUSION_LABELS.get, horizontal=True)


def diagram_ui() -> None:
    config = current_config()
    spec = get_spec(config.backbone)
    per_stage, after = parameter_budget(config.backbone, config.strategy, config.fusion_mode, NUM_CLASSES_FOR_COUNTS)
    frozen = frozen_stage_count(config)
    head = "fusion + head" if config.strategy == "fusion" else "new head"
    st.plotly_chart(stage_diagram(list(spec.stage_names), list(per_stage), frozen, head, after), width="stretch")
    trainable, total = trainable_parameters(config, NUM_CLASSES_FOR_COUNTS)
    left, right = st.columns(2)
    left.metric("Trainable parameters", f"{trainable:,}")
    right.metric("Share of the network that trains", f"{trainable / total:.1%}")
    kind = (
        "a linear probe" if frozen == spec.num_stages else "full fine-tuning" if frozen == 0 else "partial fine-tuning"
    )
    st.caption(f"Grey stages are frozen, orange ones train, blue is new: this is {kind}.")


def with_value(options: list, value) -> list:
    """A linked config may hold a value the widget does not usually offer: offer it too."""
    return options if value in options else sorted({*options, value}) if isinstance(value, int) else [*options, value]


def device_options() -> list[str]:
    if cuda_available():
        return ["auto", "cpu", "cuda"]
    if current_config().device == "cuda":
        st.error("The link asks for CUDA, but this server has no CUDA GPU. Switched to auto (the CPU here).")
        update_config(device="auto")
    return ["auto", "cpu"]


def training_ui() -> None:
    config = current_config()
    a, b, c = st.columns(3)
    with a:
        bind(st.number_input, "Learning rate", "lr", 1e-7, 10.0, format="%.5f", step=1e-4, decode=float)
    with b:
        bind(st.slider, "Per-stage learning-rate multiplier", "stage_lr_decay", 0.1, 1.0, step=0.05,
             help="Each stage further from the head trains at this times the next stage's rate.")  # fmt: skip
    with c:
        bind(st.selectbox, "Optimizer", "optimizer", OPTIMIZERS)
    d, e, f = st.columns(3)
    with d:
        bind(st.slider, "Epochs", "epochs", 1, max(50, config.epochs))
    with e:
        bind(st.select_slider, "Batch size", "batch_size", with_value([16, 32, 64, 128, 256], config.batch_size))
    with f:
        bind(st.select_slider, "Image size (px)", "image_size", with_value(IMAGE_SIZES, config.image_size))
    g, h, i = st.columns(3)
    with g:
        bind(st.toggle, "Augmentation (crop and flip)", "augment")
    with h:
        bind(st.number_input, "Seed", "seed", 0, 2**31 - 1, decode=int)
    with i:
        bind(st.radio, "Device", "device", device_options(), horizontal=True,
             help="CUDA is offered only when this server has a GPU.")  # fmt: skip


st.title("Transfer")
st.write("Decide what the new model keeps from the source network, and what it learns anew.")
strategy_ui()
freeze_ui()
diagram_ui()
st.subheader("Training")
training_ui()
st.page_link("app_pages/train.py", label="Go to Train to launch this run", icon=":material/rocket_launch:")
