"""The multi-task lab: a shared trunk that both heads train, second tasks that relate or conflict, and a
verdict that says helps, hurts or too close."""

import pytest
import torch
import torch.nn.functional as F

from transfer_core.lessons import multitask


def test_both_heads_train_the_shared_trunk():
    model = multitask.TwoHeads(classes=10, kinds=4)
    x = torch.randn(4, 3, 32, 32)
    for head in (0, 1):  # the main head alone, then the second head alone: each reaches every trunk stage
        model.zero_grad()
        logits = model(x)[head]
        F.cross_entropy(logits, torch.zeros(4, dtype=torch.long)).backward()
        trunk = [p.grad for p in model.trunk.parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in trunk), head
        other = model.second if head == 0 else model.main
        assert all(p.grad is None or p.grad.abs().sum() == 0 for p in other.parameters()), "a head trains only itself"


def test_the_related_task_is_the_garments_kind_and_the_conflicting_one_is_random_per_image_fixed_by_seed():
    labels = torch.arange(10)
    assert multitask.second_labels("related", labels, 0).tolist() == [0, 1, 0, 0, 0, 2, 0, 2, 3, 2]
    noise = multitask.second_labels("conflicting", torch.zeros(200, dtype=torch.long), 3)
    assert noise.unique().numel() == multitask.NOISE_KINDS, "random labels, unrelated to the main label"
    assert torch.equal(noise, multitask.second_labels("conflicting", torch.zeros(200, dtype=torch.long), 3))
    assert multitask.second_labels("alone", labels, 0) is None


def test_the_verdict_says_helps_hurts_or_too_close_beyond_the_noise():
    alone = {0: 0.70, 1: 0.72, 2: 0.71, 3: 0.73}
    accuracy = {
        "alone": alone,
        "related": {s: a + 0.03 + 0.002 * s for s, a in alone.items()},
        "conflicting": {s: a - 0.04 - 0.003 * s for s, a in alone.items()},
    }
    assert multitask.verdict(accuracy, "related") == "helps"
    assert multitask.verdict(accuracy, "conflicting") == "hurts"
    noisy = accuracy | {"related": {0: 0.74, 1: 0.69, 2: 0.75, 3: 0.70}}
    assert multitask.verdict(noisy, "related") == "close"


def test_a_multitask_run_trains_and_scores_the_main_task():
    tiny = multitask.MultiTaskSetup(train_per_class=5, val_per_class=5, image_size=16, epochs=1)
    result = multitask.train_multitask("conflicting", 0, tiny)
    assert 0.0 <= result.val_acc <= 1.0 and result.seconds > 0


def test_negative_transfer_carries_the_sources_trunk_and_a_probe_trains_only_the_head():
    """The random-label source's trunk is what the target starts from; probed, its stages never move."""
    from transfer_core.data.registry import load_shared
    from transfer_core.lessons import negative_transfer as negative

    tiny = negative.SourceSetup(source_per_class=5, target_per_class=3, val_per_class=5, image_size=16,
                                source_epochs=1, target_epochs=1)  # fmt: skip
    trunks = negative.source_trunks(load_shared("fashion_mnist"), 0, tiny)
    assert set(trunks) == {"noise", "true"}
    untrained = multitask.TwoHeads(10, 10).trunk.state_dict()
    name = next(iter(untrained))
    assert not torch.equal(trunks["noise"][name], trunks["true"][name]), "two sources, two trunks"
    accuracy, seconds = negative.one_seed(0, tiny)
    assert set(accuracy) == {f"{s} {m}" for s in negative.SOURCES for m in negative.MODES}
    assert all(0.0 <= a <= 1.0 for a in accuracy.values()) and all(s > 0 for s in seconds.values())


def test_negative_transfer_is_a_source_below_random_weights_beyond_the_noise():
    from transfer_core.lessons import negative_transfer as negative
    from transfer_core.lessons.questions import CLOSE

    scratch = {0: 0.50, 1: 0.52, 2: 0.49, 3: 0.51}
    accuracy = {
        "scratch probe": scratch,
        "noise probe": {s: a - 0.05 + 0.002 * s for s, a in scratch.items()},
        "true probe": {s: a + 0.30 - 0.003 * s for s, a in scratch.items()},
        "scratch fine-tune": scratch,
        "noise fine-tune": {0: 0.55, 1: 0.47, 2: 0.52, 3: 0.48},
    }
    assert negative.verdict(accuracy, "noise", "probe") == "hurts"
    assert negative.verdict(accuracy, "true", "probe") == "helps"
    assert negative.verdict(accuracy, "noise", "fine-tune") == CLOSE
    mean, half = negative.effect(accuracy, "noise", "probe")
    assert mean == pytest.approx(-0.047) and half > 0
