"""Transfer Lab's engine: everything that computes, with no page, no plotting library and no Streamlit.

The main line of a run: `config.TrainConfig` (what a run is) -> `runners/` (where it trains: threads,
worker processes or Ray) -> `resolve` (the config made into data, weights, a model and a device, once)
-> `train` (the loop, yielding events) -> `store/` (what a run leaves on disk) -> the pages poll the runner.
"""
