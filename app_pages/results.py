"""Results: how a finished run does on its validation images, and its weights to take away."""

import time

import numpy as np
import pandas as pd
import streamlit as st

from transfer_core.errors import TransferLabError
from transfer_core.evaluate import ValidationReport, validation_report
from transfer_core.plots import confusion_heatmap, per_class_bars
from transfer_core.runs import RunRecord
from ui.session import get_runner, owner

GRID_IMAGES = 24


@st.cache_data(max_entries=8, show_spinner="Evaluating the trained model on its validation images…")
def report_for(run_id: str) -> ValidationReport:
    store = get_runner().store
    record = store.load(run_id)
    return validation_report(record.config, record.classes, store.load_weights(run_id))


def run_label(record: RunRecord) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(record.created))
    acc = f", val acc {record.metrics[-1]['val_acc']:.3f}" if record.metrics else ""
    kind = "linear probe" if record.config.is_linear_probe else record.config.strategy
    return f"{when} · {record.config.backbone} · {kind} · {record.config.dataset}{acc}"


def run_choice_ui() -> RunRecord | None:
    finished = [r for r in get_runner().store.list(owner()) if r.status == "done"]
    if not finished:
        st.info("No finished run in this tab yet. Launch one on the Train page.")
        return None
    ids = [r.run_id for r in finished]
    active = st.session_state.get("active_run")
    index = ids.index(active) if active in ids else 0
    return st.selectbox("Run", finished, index=index, format_func=run_label)


def image_grid_ui(report: ValidationReport) -> None:
    rng = np.random.default_rng(0)
    picks = rng.choice(len(report.y_true), size=min(GRID_IMAGES, len(report.y_true)), replace=False)
    captions = []
    for i in picks:
        true, pred = report.classes[report.y_true[i]], report.classes[report.y_pred[i]]
        mark = "✓" if true == pred else "✗"
        captions.append(f"{mark} {pred} ({report.confidence[i]:.0%}) · true: {true}")
    st.image([report.images[i] for i in picks], caption=captions, width=110)


def downloads_ui(record: RunRecord) -> None:
    store = get_runner().store
    left, middle, right = st.columns(3)
    left.download_button(
        "Download weights (safetensors)",
        store.weights_path(record.run_id).read_bytes(),
        file_name=f"transfer-lab-{record.run_id}.safetensors",
        mime="application/octet-stream",
    )
    metrics = pd.DataFrame(record.metrics)
    middle.download_button(
        "Download metrics (CSV)",
        metrics.to_csv(index=False),
        file_name=f"transfer-lab-{record.run_id}.csv",
        mime="text/csv",
    )
    right.download_button(
        "Download config (JSON)",
        record.config.to_json(),
        file_name=f"transfer-lab-{record.run_id}.json",
        mime="application/json",
    )
    st.caption(
        "The weights load into the architecture the config describes (`transfer_core.evaluate.load_trained_model`)."
    )


st.title("Results")
record = run_choice_ui()
if record is not None:
    try:
        report = report_for(record.run_id)
    except TransferLabError as err:
        st.error(f"{err} The run's metrics are still below.")
        report = None
    if report is not None:
        st.metric("Validation accuracy", f"{report.accuracy:.3f}")
        left, right = st.columns([3, 2])
        with left:
            st.subheader("Confusion matrix")
            st.plotly_chart(confusion_heatmap(report.confusion(), report.classes), width="stretch")
        with right:
            st.subheader("Accuracy per class")
            st.plotly_chart(per_class_bars(report.per_class()), width="stretch")
        st.subheader("Validation images: prediction (confidence) and truth")
        image_grid_ui(report)
    st.subheader("Take it with you")
    st.dataframe(pd.DataFrame(record.metrics), hide_index=True)
    downloads_ui(record)
