"""The multi-task lab: a shared trunk that both heads train, second tasks that relate or conflict, and a
verdict that says helps, hurts or too close."""

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
