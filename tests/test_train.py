import pytest
import torch
import torch.nn.functional as F

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import normalize, shift_images
from transfer_core.metrics import EpochMetrics
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import build_model
from transfer_core.resolve import prepared_data
from transfer_core.train import BatchProgress, Cancelled, Done, Failed, Started, train

# A probe on digits, on the CPU: these tests compare the engine with plain fp32 references computed here.
DIGITS = TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=2, device="cpu")


def run(config: TrainConfig, **kwargs) -> list:
    return list(train(config, **kwargs))


def epoch_metrics(events: list) -> list[EpochMetrics]:
    return [e for e in events if isinstance(e, EpochMetrics)]


def trained_model(config: TrainConfig, done: Done, classes: int = 10) -> torch.nn.Module:
    """The model a run trained, rebuilt from the weights its Done event carries."""
    model = build_model(config.replace(weights="random"), classes)
    model.load_state_dict(done.weights.state_dict())
    return model


@torch.no_grad()
def plain_evaluation(config: TrainConfig, done: Done, images=None) -> tuple[float, float]:
    """The reference: the trained model on the validation images in one plain PyTorch pass, (loss, accuracy)."""
    data = prepared_data(config, owner=None)
    model = trained_model(config, done, len(data.classes))
    x = normalize(data.val_x if images is None else images, get_spec(config.backbone).preprocessing)
    logits = model.eval()(x)
    return float(F.cross_entropy(logits, data.val_y)), float((logits.argmax(1) == data.val_y).float().mean())


def test_each_batch_is_read_back_after_the_next_is_queued_with_the_same_values(tiny_config):
    """No host sync waits on the batch just launched: batch b's progress comes after batch b+1's step."""
    steps = []
    real_step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return real_step(self, *args, **kwargs)

    reported_after = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.optim.Adam, "step", counting_step)
        for event in train(tiny_config.replace(epochs=1)):
            if isinstance(event, BatchProgress):
                reported_after.append((event.batch, len(steps)))
    assert reported_after == [(b, b + 1) for b in range(1, 7)] + [(7, 7)], "the last one once the epoch ends"


def test_events_come_in_order_with_metrics_for_every_epoch(tiny_config):
    events = run(tiny_config)
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    epochs = epoch_metrics(events)
    assert [e.epoch for e in epochs] == [1, 2]
    batches = [e for e in events if isinstance(e, BatchProgress)]
    assert len(batches) == 2 * 7  # 200 images in batches of 32
    assert batches[0].batches == 7 and batches[-1].batch == 7
    assert all(m.train_loss > 0 and m.images_per_second > 0 and m.seconds > 0 for m in epochs)
    assert events[-1].metrics == epochs[-1]
    loss, accuracy = plain_evaluation(tiny_config, events[-1])  # what the last epoch reported, recomputed
    assert epochs[-1].val_acc == pytest.approx(accuracy) and epochs[-1].val_loss == pytest.approx(loss, rel=1e-4)


@pytest.mark.slow
def test_training_is_reproducible_on_cpu_for_a_fixed_seed(tiny_config):
    first = [e for e in run(tiny_config) if isinstance(e, (EpochMetrics, Done))]
    second = [e for e in run(tiny_config) if isinstance(e, (EpochMetrics, Done))]
    for a, b in zip(first[:-1], second[:-1]):
        assert (a.train_loss, a.val_loss, a.val_acc) == (b.train_loss, b.val_loss, b.val_acc)
    for (name, p), q in zip(first[-1].weights.state_dict().items(), second[-1].weights.state_dict().values()):
        assert torch.equal(p, q), name
    other = epoch_metrics(run(tiny_config.replace(seed=1)))
    assert other[-1].train_loss != first[-2].train_loss


def test_cancel_stops_within_one_batch(tiny_config):
    seen = []

    def stop_after_three_batches() -> bool:
        return len(seen) >= 3

    for event in train(tiny_config, should_stop=stop_after_three_batches):
        seen.extend([event] if isinstance(event, BatchProgress) else [])
        last = event
    # Batch 3 is reported once batch 4 is queued (a GPU is not made to wait for the report): when the stop
    # is asked, batch 4 has trained; it is reported, and no batch trains after the stop.
    assert [p.batch for p in seen] == [1, 2, 3, 4]
    assert last == Cancelled(epoch=1, batch=5)


@pytest.mark.slow
def test_cached_prefix_trains_exactly_like_running_the_frozen_stages_every_batch():
    """The cache is an optimisation only: the reference is the same run without it."""
    config = DIGITS.replace(frozen_stages=7)
    cached, reference = run(config), run(config, cache_prefix=False)
    assert cached[0].cached_prefix and not reference[0].cached_prefix
    pairs = list(zip(epoch_metrics(cached), epoch_metrics(reference)))
    assert len(pairs) == 2
    for x, y in pairs:
        assert x.train_loss == pytest.approx(y.train_loss, rel=1e-4)
        assert x.val_acc == pytest.approx(y.val_acc)


@pytest.mark.parametrize("mode", ["concat", "sum", "gate"])
def test_fusion_trains_with_each_mode(mode):
    config = TrainConfig(
        dataset="digits",
        train_per_class=20,
        val_per_class=10,
        image_size=32,
        epochs=1,
        strategy="fusion",
        fusion_mode=mode,
    )
    events = run(config)
    assert events[0].cached_prefix  # the frozen source is computed once, the branch reads images
    assert isinstance(events[-1], Done)


def test_augmentation_turns_the_cache_off(tiny_config):
    events = run(
        tiny_config.replace(backbone="efficientnet_lite0", weights="imagenet", frozen_stages=-1, augment=True, epochs=1)
    )
    assert not events[0].cached_prefix and isinstance(events[-1], Done)


def test_expected_problems_end_in_failed_with_advice(tiny_config):
    events = run(tiny_config.replace(dataset="cifar10"))
    assert len(events) == 1 and isinstance(events[0], Failed) and "CIFAR-10" in events[0].message


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown on machines without CUDA")
def test_cuda_requested_without_cuda_fails_with_a_clear_message(tiny_config):
    (event,) = run(tiny_config.replace(device="cuda"))
    assert isinstance(event, Failed) and "no usable CUDA" in event.message


@pytest.mark.slow
def test_the_offline_default_lab_reaches_0_80():
    """The acceptance check: the built-in defaults (a linear probe on ImageNet features), offline."""
    probe = run(TrainConfig())[-1]
    assert isinstance(probe, Done) and probe.metrics.val_acc >= 0.80


@pytest.mark.slow
def test_with_fifty_images_per_class_the_probe_beats_from_scratch_on_the_same_budget():
    """Lesson 1's premise on the default task: the same network, images and epochs, from ImageNet's
    weights or from random ones (about 0.78 against 0.36 here)."""
    few = TrainConfig(train_per_class=50, val_per_class=50)
    probe, scratch = run(few)[-1], run(few.replace(strategy="scratch"))[-1]
    assert isinstance(probe, Done) and isinstance(scratch, Done)
    assert scratch.metrics.val_acc <= probe.metrics.val_acc - 0.2


@pytest.mark.slow
def test_lpft_fine_tunes_from_the_probes_head(monkeypatch):
    """Phase two must start from the head the probe learned, not a new one, with every stage unfrozen."""
    from transfer_core import train as train_module

    at_switch = {}
    original = train_module.start_fine_tuning

    def spy(model, inputs, config):
        at_switch["head"] = model.head.weight.detach().clone()
        optimizer = original(model, inputs, config)
        at_switch["trainable"] = all(p.requires_grad for p in model.parameters())
        at_switch["lrs"] = sorted({group["lr"] for group in optimizer.param_groups})
        return optimizer

    monkeypatch.setattr(train_module, "start_fine_tuning", spy)
    base = DIGITS.replace(epochs=3)
    lpft = run(base.replace(strategy="lpft", probe_epochs=2, finetune_lr_scale=0.1))
    probe = run(base.replace(epochs=2))  # the same first two epochs, as a plain linear probe
    assert torch.equal(at_switch["head"], trained_model(base, probe[-1]).head.weight)
    assert at_switch["trainable"] and at_switch["lrs"] == [pytest.approx(base.lr * 0.1)]
    stem = "stages.stem.0.weight"
    assert not torch.equal(lpft[-1].weights.state_dict()[stem], probe[-1].weights.state_dict()[stem])


def test_a_shifted_validation_copy_is_scored_every_epoch():
    config = DIGITS
    shifted_run = run(config.replace(val_shift="noise"))
    shifted, plain = epoch_metrics(shifted_run), epoch_metrics(run(config))
    noisy = shift_images(prepared_data(config, owner=None).val_x, "noise", config.seed)
    assert shifted[-1].shift_acc == pytest.approx(plain_evaluation(config, shifted_run[-1], noisy)[1])
    assert all(m.shift_acc is None for m in plain)
    assert [m.val_acc for m in shifted] == [m.val_acc for m in plain]  # the ordinary split is untouched
