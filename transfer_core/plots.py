"""Plotly figures from plain rows and frames. Pure functions: no state, no Streamlit."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

FROZEN = "#9aa5b1"
TRAINABLE = "#f28e2b"
HEAD = "#4e79a7"
TRAIN_COLOUR = "#4e79a7"
VAL_COLOUR = "#e15759"


def learning_curves(epochs: pd.DataFrame, batches: pd.DataFrame | None = None) -> go.Figure:
    """Accuracy and loss: per batch (thin, live), per epoch for training and validation (markers)."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "loss"))
    for col, metric in ((1, "accuracy"), (2, "loss")):
        if batches is not None and len(batches):
            figure.add_trace(
                go.Scatter(x=batches["epoch"], y=batches[metric], name=f"train {metric} per batch", mode="lines",
                           line={"color": TRAIN_COLOUR, "width": 1}, opacity=0.35, showlegend=col == 1),
                row=1, col=col,
            )  # fmt: skip
        if len(epochs):
            short = "acc" if metric == "accuracy" else "loss"
            for split, colour in (("train", TRAIN_COLOUR), ("val", VAL_COLOUR)):
                figure.add_trace(
                    go.Scatter(x=epochs["epoch"], y=epochs[f"{split}_{short}"], name=f"{split} (epoch)",
                               mode="lines+markers", line={"color": colour}, showlegend=col == 1),
                    row=1, col=col,
                )  # fmt: skip
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    figure.update_yaxes(range=[0, 1.02], row=1, col=1)
    figure.update_layout(
        height=340, margin={"t": 40, "b": 10, "l": 10, "r": 10}, legend={"orientation": "h", "y": -0.25}
    )
    return figure


def stage_diagram(
    stages: list[str], parameters: list[int], frozen: int, head_label: str, head_parameters: int
) -> go.Figure:
    """The network left to right: frozen stages grey, trainable orange, then the new head."""
    names = [*stages, head_label]
    counts = [*parameters, head_parameters]
    colours = [FROZEN if i < frozen else TRAINABLE for i in range(len(stages))] + [HEAD]
    states = ["frozen" if i < frozen else "trainable" for i in range(len(stages))] + ["new, trainable"]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=[1] * len(names),
            marker={"color": colours, "line": {"color": "white", "width": 2}},
            text=[f"{n}<br>{_short(c)}" for n, c in zip(names, counts)],
            textposition="inside",
            insidetextanchor="middle",
            customdata=np.array([counts, states], dtype=object).T,
            hovertemplate="%{x}: %{customdata[0]:,} parameters, %{customdata[1]}<extra></extra>",
        )
    )
    figure.update_layout(
        height=150, bargap=0.05, margin={"t": 10, "b": 10, "l": 10, "r": 10}, showlegend=False,
        yaxis={"visible": False, "range": [0, 1]}, xaxis={"visible": False},
    )  # fmt: skip
    return figure


def confusion_heatmap(matrix: np.ndarray, classes: list[str]) -> go.Figure:
    figure = go.Figure(
        go.Heatmap(z=matrix, x=classes, y=classes, colorscale="Blues", text=matrix, texttemplate="%{text}",
                   hovertemplate="true %{y}<br>predicted %{x}<br>%{z} images<extra></extra>")
    )  # fmt: skip
    figure.update_layout(
        height=460, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"title": "predicted", "side": "bottom"}, yaxis={"title": "true", "autorange": "reversed"},
    )  # fmt: skip
    return figure


def per_class_bars(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure(go.Bar(x=frame["class"], y=frame["accuracy"], marker={"color": HEAD}))
    figure.update_layout(
        height=300, margin={"t": 10, "b": 10, "l": 10, "r": 10}, yaxis={"range": [0, 1], "title": "accuracy"}
    )
    return figure


def class_counts_bars(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for split, colour in (("train", TRAIN_COLOUR), ("validation", VAL_COLOUR)):
        figure.add_trace(go.Bar(x=frame["class"], y=frame[split], name=split, marker={"color": colour}))
    figure.update_layout(height=280, barmode="group", margin={"t": 10, "b": 10, "l": 10, "r": 10})
    return figure


def _short(count: int) -> str:
    return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k" if count >= 1e3 else str(count)
