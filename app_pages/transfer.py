"""Transfer: how the source's knowledge is carried over, and how training runs."""

import streamlit as st

from transfer_core.config import ALL_STAGES, FUSION_MODES, OPTIMIZERS, RANGES
from transfer_core.data import user_data
from transfer_core.errors import TransferLabError
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import frozen_stage_count, parameter_budget, trainable_parameters
from transfer_core.resolve import class_count
from ui.config_state import current_config, update_config
from ui.downloads import code_downloads
from ui.figures import stage_diagram
from ui.i18n import labels, localize_figure, t
from ui.session import get_runner, owner
from ui.widgets import bind

IMAGE_SIZES = [32, 48, 64, 96, 128, 160, 224]


def strategy_ui() -> None:
    config = current_config()
    spec = get_spec(config.backbone)
    starts = weight_choices(config.backbone, spec.has_pretrained)
    if config.weights not in starts:  # a link naming weights this session does not have
        starts = {config.weights: config.weights, **starts}
    options = ["copy", "fusion", "scratch"] if len(starts) > 1 else ["scratch"]
    strategy = bind(
        st.radio, t("transfer.strategy"), "strategy", options, format_func=labels("transfer.strategies", options).get
    )
    if strategy != "scratch":
        bind(st.radio, t("transfer.start_from"), "weights", list(starts), format_func=starts.get, horizontal=True)


def weight_choices(backbone: str, has_pretrained: bool) -> dict[str, str]:
    """ImageNet's weights when the backbone has them, random ones, and any this session brought for it."""
    sources = {"words": "transfer.weights_word_source", "sound": "transfer.weights_speech_source",
               "text": "transfer.weights_sentence_source"}  # fmt: skip
    source = "transfer.weights_crepe" if backbone == "crepe_tiny" else sources.get(get_spec(backbone).reads)
    source = source or "transfer.weights_imagenet"
    choices = {"imagenet": t(source)} if has_pretrained else {}
    choices["random"] = t("transfer.weights_random")
    for name, made_for in user_data.saved_weights(owner()).items():
        if made_for == backbone:
            choices[user_data.mine(name)] = t("transfer.weights_mine", name=name)
    return choices


def freeze_ui() -> None:
    config = current_config()
    stages = get_spec(config.backbone).num_stages
    if config.strategy == "scratch":
        st.caption(t("transfer.nothing_to_freeze"))
        return
    bind(
        st.slider,
        t("transfer.frozen_stages"),
        "frozen_stages",
        0,
        stages,
        encode=lambda k: stages if k == ALL_STAGES else k,
        decode=lambda k: ALL_STAGES if k == stages else k,
        help=t("transfer.frozen_help", stages=stages),
    )
    if config.strategy == "fusion":
        bind(st.radio, t("transfer.fusion"), "fusion_mode", FUSION_MODES,
             format_func=labels("transfer.fusion_modes", FUSION_MODES).get, horizontal=True)  # fmt: skip


def diagram_ui() -> None:
    config = current_config()
    spec = get_spec(config.backbone)
    try:
        classes = class_count(config, owner())  # the head has one output per class: a probe trains only that
    except TransferLabError as err:
        st.warning(t("transfer.no_class_count", error=err))
        return
    per_stage, after = parameter_budget(config.backbone, config.strategy, config.fusion_mode, classes)
    frozen = frozen_stage_count(config)
    head = t("transfer.head_fusion") if config.strategy == "fusion" else t("transfer.head_new")
    figure = stage_diagram(list(spec.stage_names), list(per_stage), frozen, head, after)
    st.plotly_chart(localize_figure(figure), width="stretch")
    trainable, total = trainable_parameters(config, classes)
    left, right = st.columns(2)
    left.metric(t("transfer.trainable"), f"{trainable:,}")
    right.metric(t("transfer.share"), f"{trainable / total:.1%}")
    st.caption(t("transfer.counted_for", classes=classes))
    kind = "probe" if frozen == spec.num_stages else "full" if frozen == 0 else "partial"
    st.caption(t("transfer.diagram_caption", kind=t(f"transfer.kinds.{kind}")))


def with_value(options: list, value) -> list:
    """A linked config may hold a value the widget does not usually offer: offer it too."""
    return options if value in options else sorted({*options, value}) if isinstance(value, int) else [*options, value]


def device_options() -> list[str]:
    if get_runner().offers_cuda():  # this machine's GPU, or a cluster's
        return ["auto", "cpu", "cuda"]
    if current_config().device == "cuda":
        st.error(t("transfer.no_cuda"))
        update_config(device="auto")
    return ["auto", "cpu"]


def training_ui() -> None:
    config = current_config()
    a, b, c = st.columns(3)
    with a:
        bind(st.number_input, t("transfer.lr"), "lr", *RANGES["lr"].on_page, format="%.5f", step=1e-4, decode=float)
    with b:
        bind(st.slider, t("transfer.stage_lr"), "stage_lr_decay", *RANGES["stage_lr_decay"].on_page, step=0.05,
             help=t("transfer.stage_lr_help"))  # fmt: skip
    with c:
        bind(st.selectbox, t("transfer.optimizer"), "optimizer", OPTIMIZERS)
    d, e, f = st.columns(3)
    with d:
        bind(st.slider, t("transfer.epochs"), "epochs", *RANGES["epochs"].on_page)
    with e:
        bind(
            st.select_slider,
            t("transfer.batch_size"),
            "batch_size",
            with_value([16, 32, 64, 128, 256], config.batch_size),
        )
    with f:
        bind(st.select_slider, t("transfer.image_size"), "image_size", with_value(IMAGE_SIZES, config.image_size))
    g, h, i = st.columns(3)
    with g:
        bind(st.toggle, t("transfer.augment"), "augment")
    with h:
        bind(st.number_input, t("transfer.seed"), "seed", *RANGES["seed"].on_page, decode=int)
    with i:
        devices = device_options()
        bind(st.radio, t("transfer.device"), "device", devices, horizontal=True, help=t("transfer.device_help"),
             format_func=labels("transfer.devices", devices).get)  # fmt: skip


st.title(t("transfer.title"))
st.write(t("transfer.intro"))
strategy_ui()
freeze_ui()
diagram_ui()
st.subheader(t("transfer.training"))
training_ui()
st.page_link("app_pages/train.py", label=t("transfer.go_train"), icon=":material/rocket_launch:")
with st.expander(t("export.title"), icon=":material/code:"):
    st.caption(t("export.intro"))
    code_downloads(current_config(), key="export_setup")
