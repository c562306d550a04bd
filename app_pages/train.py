"""Train: launch the run, watch it live, stop it."""

import time

import pandas as pd
import streamlit as st

from transfer_core.analysis.feature_views import drift_frame
from transfer_core.errors import QueueFull, RunNotFound, TransferLabError
from transfer_core.metrics import metrics_rows
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import frozen_stage_count
from transfer_core.models.weights import downloads_allowed, weights_available
from transfer_core.runners.run_state import RunSnapshot
from ui.config_state import current_config, update_config
from ui.describe import describe_config
from ui.figures import drift_diagram, learning_curves
from ui.i18n import Markdown, literal, localize_figure, setup_words, t
from ui.polling import built_once, poll_until_finished, run_interval
from ui.run_status import at_chance, run_status_line
from ui.session import active_run, get_runner, owner, set_active_run

CURVE_SECONDS = 3


def missing_weights_ui(config) -> bool:
    """Before launch: say when the run needs ImageNet weights this machine does not have, and offer
    random ones. True when it cannot start as it is (offline: nothing can fetch them)."""
    if config.strategy == "scratch" or config.weights != "imagenet" or weights_available(config.backbone)[0]:
        return False
    title = get_spec(config.backbone).title
    blocked = not downloads_allowed()
    (st.warning if blocked else st.info)(
        t("train.weights_offline" if blocked else "train.weights_download", backbone=title)
    )
    st.button(t("train.use_random"), on_click=update_config, kwargs={"weights": "random"}, key="use_random")
    return blocked


def launch_ui(live: bool) -> None:
    config = current_config()
    st.markdown(t("train.setup", setup=describe_config(config, setup_words)))
    blocked = missing_weights_ui(config)
    help_text = t("train.one_at_a_time") if live else None
    if st.button(t("train.launch"), type="primary", disabled=live or blocked, help=help_text):
        try:
            set_active_run(get_runner().submit(config, owner()))
        except QueueFull as err:
            st.error(t("train.busy", error=err))
        except TransferLabError as err:
            st.error(literal(err))
        else:
            st.rerun()


def progress_ui(snapshot: RunSnapshot) -> None:
    if snapshot.status == "queued":
        st.info(run_status_line(snapshot))  # its place, and the wait judged from recent runs
        return
    progress, features = snapshot.progress, snapshot.features
    if snapshot.finished and progress is None:  # failed or cancelled before its first batch: nothing is moving
        return
    if features is not None and features.waiting:
        st.progress(0.0, text=t("train.features_waiting"))
        return
    if features is not None:
        st.progress(features.done / features.total, text=t("train.features", done=features.done, total=features.total))
        st.caption(t("train.features_why"))  # why epoch 1 is slow and the others are not
        if frozen_stage_count(snapshot.config) == get_spec(snapshot.config.backbone).num_stages:
            st.caption(t("train.probe_curve"))  # a probe's epochs take a second: its curve comes all at once
        return
    if progress is None:
        st.progress(0.0, text=t("train.preparing"))
        return
    if snapshot.feature_source == "stored":
        st.caption(t("train.features_shared"))
    elif snapshot.feature_source == "repaired":  # a damaged stored copy was computed again
        st.caption(t("train.features_repaired"))
    epoch_fraction = (progress.epoch - 1 + progress.batch / progress.batches) / progress.epochs
    st.progress(epoch_fraction, text=t("train.epoch", epoch=progress.epoch, epochs=progress.epochs))
    st.progress(
        progress.batch / progress.batches,
        text=t("train.batch", batch=progress.batch, batches=progress.batches, loss=progress.loss),
    )


def curves_ui(snapshot: RunSnapshot) -> None:
    if not snapshot.metrics and not snapshot.batches:
        return

    def figure():
        epochs, batches = pd.DataFrame(metrics_rows(snapshot.metrics)), pd.DataFrame(snapshot.batches)
        return localize_figure(learning_curves(epochs, batches))

    # While it trains, the curve changes every CURVE_SECONDS; a new epoch or the end changes it at once.
    moment = int(time.monotonic() // CURVE_SECONDS) if not snapshot.finished else None
    version = (snapshot.status, len(snapshot.metrics), moment)
    st.plotly_chart(built_once(("curves", snapshot.run_id), version, figure), width="stretch", key="live_curves")


def drift_ui(snapshot: RunSnapshot) -> None:
    if len(snapshot.drift) < 2:  # epoch 0 alone is all zeros
        return
    config = snapshot.config
    stages = list(get_spec(config.backbone).stage_names)

    def figure():
        return localize_figure(drift_diagram(drift_frame(snapshot.drift), stages, frozen_stage_count(config)))

    st.markdown(t("train.drift"))  # drift changes once an epoch: the same figure until then
    st.plotly_chart(
        built_once(("drift", snapshot.run_id), len(snapshot.drift), figure), width="stretch", key="live_drift"
    )


def at_chance_ui(snapshot: RunSnapshot) -> None:
    """A finished run no better than guessing is said to be so, with the usual reasons."""
    if at_chance(snapshot):
        classes = len(snapshot.classes) or 1
        st.info(t("train.at_chance", acc=snapshot.summary.final_val_acc, classes=classes, chance=1 / classes))


def final_ui(snapshot: RunSnapshot) -> None:
    if snapshot.status == "done" and snapshot.summary:
        a, b, c = st.columns(3)
        a.metric(t("train.val_acc"), f"{snapshot.summary.final_val_acc:.3f}")
        b.metric(t("train.train_acc"), f"{snapshot.metrics[-1].train_acc:.3f}")
        c.metric(t("train.seconds"), f"{snapshot.summary.seconds + snapshot.feature_seconds:.1f}")
        if snapshot.feature_seconds >= 0.05:  # the feature pass is part of the wait, not of any epoch
            st.caption(t("train.seconds_split", features=snapshot.feature_seconds, epochs=snapshot.summary.seconds))
        st.success(t("train.done"))
        at_chance_ui(snapshot)
        st.page_link("app_pages/results.py", label=t("train.open_results"), icon=":material/analytics:")
    elif snapshot.status == "cancelled":
        st.warning(t("train.stopped", message=snapshot.message))
    elif snapshot.status in ("failed", "interrupted"):
        st.error(t("train.failed", status=snapshot.status, message=snapshot.message))
        st.page_link("app_pages/transfer.py", label=t("train.change_setup"), icon=":material/tune:")


def run_ui(run_id: str, snapshot: RunSnapshot | None) -> None:
    if snapshot is None:
        st.error(t("train.gone"))
        return
    st.markdown(t("train.run_line", run_id=Markdown(run_id), status=snapshot.status))  # ids are hex
    if not snapshot.finished and st.button(t("train.stop"), key="stop"):
        get_runner().cancel(run_id, owner=owner())
    progress_ui(snapshot)
    final_ui(snapshot)


def charts_ui(snapshot: RunSnapshot | None) -> None:
    if snapshot is not None:
        curves_ui(snapshot)
        drift_ui(snapshot)


def read_run(run_id: str) -> RunSnapshot | None:
    try:
        return get_runner().snapshot(run_id, owner=owner())
    except RunNotFound:  # deleted from the ledger meanwhile
        return None


st.title(t("train.title"))
snapshot = active_run()
live = snapshot is not None and not snapshot.finished
launch_ui(live)
if snapshot is not None:
    run_id = snapshot.run_id
    still_live = lambda s: s is not None and not s.finished  # noqa: E731
    # Progress moves every poll; the charts, whose serialising and drawing cost the server and every
    # watching browser most, poll on their own every CURVE_SECONDS (and at once when the run ends).
    poll_until_finished(lambda: read_run(run_id), still_live, lambda s: run_ui(run_id, s),
                        lambda s: run_interval([s]) if s is not None else 1.0)  # fmt: skip
    poll_until_finished(lambda: read_run(run_id), still_live, charts_ui, lambda s: CURVE_SECONDS)
else:
    st.caption(t("train.no_run"))
