"""Plotly figures from plain rows and frames. Pure functions: no state, no Streamlit; the engine never draws."""

import numpy as np
import pandas as pd
import plotly.express as px
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
    figure.update_yaxes(range=[0, 1.02], title_text="accuracy", row=1, col=1)
    figure.update_yaxes(title_text="loss", row=1, col=2)
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
    figure.update_layout(height=280, barmode="group", margin={"t": 10, "b": 10, "l": 10, "r": 10},
                         xaxis_title="class", yaxis_title="images")  # fmt: skip
    return figure


def _short(count: int) -> str:
    return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k" if count >= 1e3 else str(count)


PROJECTION_AXES = {"pca": "principal component", "tsne": "t-SNE dimension"}


def embedding_scatter(frame: pd.DataFrame, classes: list[str], method: str = "pca") -> go.Figure:
    """Side-by-side 2-D maps of penultimate features, one point per validation image, coloured by class;
    the axes named after the projection that drew them (PCA's components mean something, t-SNE's do not)."""
    figure = px.scatter(frame, x="x", y="y", color="class", facet_col="model", opacity=0.75, height=440,
                        category_orders={"class": classes})  # fmt: skip
    axis = PROJECTION_AXES[method]
    figure.update_xaxes(matches=None, showticklabels=False, title_text=f"{axis} 1")
    figure.update_yaxes(matches=None, showticklabels=False, title_text=f"{axis} 2")
    figure.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    figure.update_layout(margin={"t": 30, "b": 10, "l": 10, "r": 10})
    return figure


def embedding_animation(frame: pd.DataFrame, classes: list[str]) -> go.Figure:
    """The same map after every epoch, on fixed axes, so the classes can be seen pulling apart."""
    pad_x = (frame["x"].max() - frame["x"].min()) * 0.05
    pad_y = (frame["y"].max() - frame["y"].min()) * 0.05
    figure = px.scatter(
        frame, x="x", y="y", color="class", animation_frame="epoch", opacity=0.75, height=480,
        category_orders={"class": classes},
        range_x=[frame["x"].min() - pad_x, frame["x"].max() + pad_x],
        range_y=[frame["y"].min() - pad_y, frame["y"].max() + pad_y],
    )  # fmt: skip
    figure.update_xaxes(showticklabels=False, title_text="principal component 1")
    figure.update_yaxes(showticklabels=False, title_text="principal component 2")
    figure.update_layout(margin={"t": 10, "b": 10, "l": 10, "r": 10})
    return figure


def drift_diagram(frame: pd.DataFrame, stages: list[str], frozen: int) -> go.Figure:
    """Weight drift per stage, in the freeze diagram's colours (grey frozen, orange trainable).

    frame: long format (epoch, stage, drift). Opens on the last epoch; the slider steps through the others."""
    epochs = sorted(frame["epoch"].unique())
    colours = [FROZEN if i < frozen else TRAINABLE for i in range(len(stages))]

    def bars(epoch) -> go.Bar:
        drift = frame[frame["epoch"] == epoch].set_index("stage")["drift"]
        values = [float(drift.get(stage, 0.0)) for stage in stages]
        return go.Bar(x=stages, y=values, marker={"color": colours}, text=[f"{v:.3f}" for v in values],
                      textposition="outside", hovertemplate="%{x}: %{y:.4f}<extra></extra>")  # fmt: skip

    steps = [
        {"label": str(e), "method": "animate",
         "args": [[str(e)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]}
        for e in epochs
    ]  # fmt: skip
    figure = go.Figure(data=[bars(epochs[-1])], frames=[go.Frame(data=[bars(e)], name=str(e)) for e in epochs])
    figure.update_layout(
        height=360, margin={"t": 10, "b": 10, "l": 10, "r": 10}, bargap=0.05, showlegend=False,
        yaxis={"range": [0, max(frame["drift"].max() * 1.25, 1e-3)], "title": "‖w − w₀‖ / ‖w₀‖"},
        sliders=[{"active": len(epochs) - 1, "steps": steps, "currentvalue": {"prefix": "after epoch "}}],
    )  # fmt: skip
    return figure


def cka_bars(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure(go.Bar(x=frame["stage"], y=frame["cka"], marker={"color": HEAD}, text=frame["cka"].round(2)))
    figure.update_layout(
        height=320, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        yaxis={"range": [0, 1.05], "title": "linear CKA, before vs after"},
    )  # fmt: skip
    return figure


def confusion_cells(matrix: np.ndarray, classes: list[str]) -> go.Figure:
    """A confusion matrix drawn as square markers, so a click selects a cell (true, predicted)."""
    true, predicted = np.meshgrid(np.arange(len(classes)), np.arange(len(classes)), indexing="ij")
    counts = matrix.flatten()
    figure = go.Figure(
        go.Scatter(
            x=[classes[i] for i in predicted.flatten()],
            y=[classes[i] for i in true.flatten()],
            mode="markers+text",
            text=counts,
            marker={"symbol": "square", "size": 34, "color": counts, "colorscale": "Blues", "showscale": False,
                    "line": {"color": "white", "width": 1}},
            textfont={"color": ["white" if c > counts.max() / 2 else "black" for c in counts]},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text} images<extra></extra>",
        )
    )  # fmt: skip
    figure.update_layout(
        height=460, margin={"t": 10, "b": 10, "l": 10, "r": 10}, clickmode="event+select",
        xaxis={"title": "predicted", "categoryorder": "array", "categoryarray": classes},
        yaxis={"title": "true", "categoryorder": "array", "categoryarray": classes, "autorange": "reversed"},
    )  # fmt: skip
    return figure


def overlay_heatmap(image: np.ndarray, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """An image (H, W, 3) uint8 with a [0, 1] heat map (H, W) blended over it, as uint8 RGB."""
    from matplotlib import colormaps

    heat = colormaps["jet"](cam)[..., :3]
    blended = (1 - alpha) * image.astype(np.float32) / 255 + alpha * heat
    return (blended.clip(0, 1) * 255).astype(np.uint8)


def upscale(image: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement so tiny maps and filters stay crisp on screen."""
    factor = max(1, size // max(image.shape[:2]))
    return np.kron(image, np.ones((factor, factor) + (1,) * (image.ndim - 2))).astype(image.dtype)


def race_curves(frame: pd.DataFrame) -> go.Figure:
    """Validation accuracy per epoch for each strategy; dashed: the same on the shifted copy.

    frame: strategy, epoch, val_acc, shift_acc (may be missing)."""
    figure = go.Figure()
    palette = px.colors.qualitative.D3
    for i, (strategy, rows) in enumerate(frame.groupby("strategy", sort=False)):
        colour = palette[i % len(palette)]
        figure.add_trace(go.Scatter(x=rows["epoch"], y=rows["val_acc"], name=strategy, mode="lines+markers",
                                    line={"color": colour}, legendgroup=strategy))  # fmt: skip
        if "shift_acc" in rows and rows["shift_acc"].notna().any():
            figure.add_trace(go.Scatter(x=rows["epoch"], y=rows["shift_acc"], name=f"{strategy} (shifted)",
                                        mode="lines+markers", line={"color": colour, "dash": "dash"},
                                        legendgroup=strategy, showlegend=False))  # fmt: skip
    figure.update_layout(
        height=440, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"title": "epoch", "dtick": 1},
        yaxis={"title": "validation accuracy (dashed: shifted)", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.2, "yanchor": "top", "x": 0},  # below: the toolbar sits top right
    )  # fmt: skip
    return figure


LAB_STYLES = {
    "AnB": {"color": "#e15759", "dash": "solid"},
    "AnB+": {"color": "#e15759", "dash": "dot"},
    "BnB": {"color": "#4e79a7", "dash": "solid"},
    "BnB+": {"color": "#4e79a7", "dash": "dot"},
}


def layer_lab_figure(points: pd.DataFrame, base_b: float | None, stages: int) -> go.Figure:
    """Accuracy on task B against n, the number of stages copied; baseB as the reference line. Each kind's
    line is its mean over the seeds; with several seeds every seed's point is drawn too, smaller.

    points: n, kind, seed, val_acc."""
    figure = go.Figure()
    several = len(points) and points["seed"].nunique() > 1
    for kind, style in LAB_STYLES.items():
        rows = points[points["kind"] == kind] if len(points) else points
        means = rows.groupby("n", as_index=False)["val_acc"].mean() if len(rows) else rows
        figure.add_trace(go.Scatter(x=means["n"] if len(means) else [], y=means["val_acc"] if len(means) else [],
                                    name=kind, mode="lines+markers", line=style, legendgroup=kind))  # fmt: skip
        if several and len(rows):
            dots = {"color": style["color"], "size": 5, "opacity": 0.45}
            figure.add_trace(go.Scatter(x=rows["n"], y=rows["val_acc"], mode="markers", legendgroup=kind,
                                        showlegend=False, marker=dots, customdata=rows["seed"],
                                        hovertemplate="seed %{customdata}: %{y:.3f}"))  # fmt: skip
    if base_b is not None:
        figure.add_hline(y=base_b, line={"color": "#555", "dash": "dash"}, annotation_text="baseB")
    figure.update_layout(
        height=400, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"title": "n: stages copied from the base network", "range": [0.5, stages + 0.5], "dtick": 1},
        yaxis={"title": "accuracy on task B (validation)", "range": [0, 1.02]},  # empty too: an accuracy axis
    )  # fmt: skip
    return figure


def word_reading_chart(frame: pd.DataFrame) -> go.Figure:
    """Each class's probability after each letter read, one line per class."""
    figure = px.line(frame, x="read so far", y="probability", color="class", markers=True)
    figure.update_layout(height=340, margin={"t": 10, "b": 10, "l": 10, "r": 10}, yaxis={"range": [0, 1.02]})
    return figure


def hidden_state_heatmap(states: np.ndarray, letters: list[str]) -> go.Figure:
    """h_t at each letter: letters across, units down (at most 64 units, the most active first)."""
    order = np.argsort(-np.abs(states).mean(axis=0))[:64]
    positions = [f"{i + 1}:{letter}" for i, letter in enumerate(letters)]
    figure = go.Figure(go.Heatmap(z=states[:, order].T, x=positions, colorscale="RdBu", zmid=0))
    figure.update_layout(height=420, margin={"t": 10, "b": 10, "l": 10, "r": 10},
                         xaxis={"title": "letter read"}, yaxis={"title": "unit of h_t"})  # fmt: skip
    return figure


def prediction_bars(counts: pd.DataFrame) -> go.Figure:
    """A class's predictions for one question: how many chose each answer (columns: answer, students)."""
    figure = px.bar(counts, x="students", y="answer", orientation="h", text="students")
    figure.update_layout(height=80 + 40 * len(counts), margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure.update_xaxes(dtick=1)


def seed_strip(points: pd.DataFrame, value_title: str) -> go.Figure:
    """Every seed's result, one dot each, per answer (columns: answer, seed, value): the class's distribution."""
    figure = px.strip(points, x="value", y="answer", color="answer", hover_data=["seed"])
    figure.update_layout(height=120 + 60 * points["answer"].nunique(), showlegend=False,
                         margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title=value_title)  # fmt: skip
    return figure


def spread_curves(points: pd.DataFrame, x_title: str, log_x: bool = False) -> go.Figure:
    """Mean validation accuracy per series against x, a band from the lowest to the highest seed, and
    every seed's point (columns: series, x, seed, val_acc)."""
    figure = go.Figure()
    palette = px.colors.qualitative.D3
    for i, (series, rows) in enumerate(points.groupby("series", sort=False)):
        colour = palette[i % len(palette)]
        stats = rows.groupby("x")["val_acc"].agg(["mean", "min", "max"]).reset_index()
        band = pd.concat([stats["x"], stats["x"][::-1]])
        figure.add_trace(go.Scatter(x=band, y=pd.concat([stats["max"], stats["min"][::-1]]), fill="toself",
                                    fillcolor=colour, opacity=0.2, line={"width": 0}, hoverinfo="skip",
                                    showlegend=False, legendgroup=series))  # fmt: skip
        figure.add_trace(go.Scatter(x=stats["x"], y=stats["mean"], name=series, mode="lines",
                                    line={"color": colour}, legendgroup=series))  # fmt: skip
        figure.add_trace(go.Scatter(x=rows["x"], y=rows["val_acc"], mode="markers", marker={"color": colour, "size": 5},
                                    showlegend=False, legendgroup=series, customdata=rows["seed"],
                                    hovertemplate="seed %{customdata}: %{y:.3f}<extra></extra>"))  # fmt: skip
    figure.update_layout(
        height=380, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"title": x_title, "type": "log" if log_x else "linear", "tickvals": sorted(points["x"].unique())},
        yaxis={"title": "validation accuracy", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.25, "yanchor": "top", "x": 0},
    )  # fmt: skip
    return figure


def model_choice_figure(points: pd.DataFrame) -> go.Figure:
    """Each source's probe accuracy here (every seed, and the mean) against its ImageNet top-1.

    points: source, top1, seed, val_acc."""
    means = points.groupby(["source", "top1"], as_index=False)["val_acc"].mean().sort_values("top1")
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=points["top1"], y=points["val_acc"], mode="markers", name="each seed",
                                marker={"size": 7, "opacity": 0.6}, customdata=points["seed"]))  # fmt: skip
    figure.add_trace(go.Scatter(x=means["top1"], y=means["val_acc"], mode="lines+markers+text", name="mean",
                                text=means["source"], textposition="top center", marker={"size": 11}))  # fmt: skip
    span = [max(0, points["val_acc"].min() - 0.05), min(1.02, points["val_acc"].max() + 0.05)]
    figure.update_layout(
        height=360, margin={"t": 10, "b": 10, "l": 10, "r": 10},
        xaxis={"title": "ImageNet top-1 accuracy (%), as published"},
        yaxis={"title": "validation accuracy here (linear probe)", "range": span},
    )  # fmt: skip
    return figure
