"""The GPU tier (`pytest -m gpu`): the lab on CUDA ends where it ends on the CPU.

On CUDA the lab trains and evaluates under bfloat16 autocast, so its numbers are not the CPU's digit for
digit; each check states how far apart the two may end. Without CUDA these tests are skipped.
"""

from functools import cache

import pytest
import torch

from tests.test_export import lab_trace, script_trace
from tests.waiting import wait_until_finished
from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import SENTENCE_PROBE
from transfer_core.runners.processes import ProcessRunner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]

# A probe reads frozen features: bf16 moves only predictions that sat on a boundary (1000 validation images).
PROBE_TOLERANCE = 0.01
# A fine-tune is chaotic: bf16 sends it down another path of about the same quality (seed-to-seed spread
# on these sizes is about 0.02).
FINE_TUNE_TOLERANCE = 0.04
FINE_TUNE = TrainConfig(frozen_stages=0, epochs=2, lr=3e-4, train_per_class=100, val_per_class=50)


@cache
def accuracy_on(config: TrainConfig, device: str) -> float:
    return lab_trace(config.replace(device=device)).accuracy


def test_the_default_lab_on_cuda_ends_where_it_ends_on_the_cpu():
    on_gpu = accuracy_on(TrainConfig(), "cuda")
    assert on_gpu >= 0.80
    assert on_gpu == pytest.approx(accuracy_on(TrainConfig(), "cpu"), abs=PROBE_TOLERANCE)


def test_a_full_fine_tune_on_cuda_learns_as_much_as_on_the_cpu():
    on_gpu, on_cpu = accuracy_on(FINE_TUNE, "cuda"), accuracy_on(FINE_TUNE, "cpu")
    assert on_gpu > 0.5, "far from chance (0.1): the comparison means something"
    assert on_gpu == pytest.approx(on_cpu, abs=FINE_TUNE_TOLERANCE)


def test_the_process_runner_trains_on_cuda_in_its_worker(tmp_path, closing):
    store = RunStore(tmp_path / "runs")
    runner = closing(ProcessRunner(store, features=FeatureStore(tmp_path / "features", 1024**3)))
    snapshot = wait_until_finished(runner, runner.submit(TrainConfig(device="cuda"), "alice"), timeout=300)
    assert snapshot.status == "done", snapshot.message
    assert store.load(snapshot.run_id).trained_on.split(" · ")[-1].startswith("cuda")
    assert snapshot.summary.final_val_acc == pytest.approx(accuracy_on(TrainConfig(), "cpu"), abs=PROBE_TOLERANCE)


def test_the_exported_script_on_cuda_ends_where_the_lab_ends_on_the_cpu(tmp_path):
    script = script_trace(TrainConfig(device="cuda"), tmp_path)  # the script picks CUDA when it is there
    assert script.device.startswith("cuda")
    assert script.accuracy == pytest.approx(accuracy_on(TrainConfig(), "cpu"), abs=PROBE_TOLERANCE)


def test_on_cuda_the_optimizer_is_fused_and_a_worker_warms_the_gpu_before_any_run():
    from transfer_core.models.strategies import build_model
    from transfer_core.runners.processes import warm_up
    from transfer_core.train import make_optimizer

    config = TrainConfig(weights="random", frozen_stages=0)
    assert make_optimizer(config, build_model(config, 10).cuda()).defaults["fused"] is True
    assert make_optimizer(config, build_model(config, 10)).defaults.get("fused") in (None, False), "CPU unchanged"
    warm_up()
    assert torch.cuda.is_initialized()


def test_a_sentence_probe_on_minilm_on_cuda_ends_where_it_ends_on_the_cpu(tmp_path):
    """The transformer's six stages, its padding mask and mean pooling under bf16 autocast, and the script."""
    on_gpu = accuracy_on(SENTENCE_PROBE, "cuda")
    assert on_gpu >= 0.75, "lesson 11's probe: 0.82 on the CPU"
    assert on_gpu == pytest.approx(accuracy_on(SENTENCE_PROBE, "cpu"), abs=PROBE_TOLERANCE)
    script = script_trace(SENTENCE_PROBE.replace(device="auto"), tmp_path)
    assert script.device.startswith("cuda")
    assert script.accuracy == pytest.approx(accuracy_on(SENTENCE_PROBE, "cpu"), abs=PROBE_TOLERANCE)
