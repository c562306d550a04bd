"""The lab's server: `streamlit run serve.py` serves app.py exactly as `streamlit run app.py` would, but
imports the heavy modules (torch, torchvision, the engine, every page's helpers) while it starts, before
it accepts a connection. So the first visitor of a freshly started server does not wait seconds for
them (bench/cold_start.py measures it); the health check answers only once they are loaded."""

import importlib
from contextlib import asynccontextmanager

import streamlit as st

# What the first script run would otherwise import: the engine, and the modules the pages use.
PRELOADED = ("torch", "torchvision", "pandas", "plotly.graph_objects", "transfer_core.runners.runner",
             "transfer_core.runners.processes", "transfer_core.models.costs", "ui.session",
             "ui.lessons.pages")  # fmt: skip


@asynccontextmanager
async def preload(_app):
    for module in PRELOADED:
        importlib.import_module(module)
    yield


app = st.App("app.py", lifespan=preload)
