import pytest
import torch
from torch import nn

from transfer_core.config import TrainConfig
from transfer_core.models.strategies import build_model, count_parameters, param_groups


def lite(**changes) -> TrainConfig:
    return TrainConfig(image_size=32, **changes)


def one_step(model: nn.Module, lr: float = 0.1) -> None:
    torch.manual_seed(0)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr)
    loss = nn.functional.cross_entropy(model(torch.randn(8, 3, 32, 32)), torch.randint(0, 10, (8,)))
    loss.backward()
    optimizer.step()


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_scratch_starts_random_and_trains_everything():
    pretrained = build_model(lite(), 10)
    scratch = build_model(lite(strategy="scratch"), 10)
    assert scratch.frozen == 0
    assert count_parameters(scratch, trainable_only=True) == count_parameters(scratch)
    assert not torch.equal(scratch.stages["stem"][0].weight, pretrained.stages["stem"][0].weight)


def test_feature_copy_carries_the_pretrained_weights():
    a, b = build_model(lite(frozen_stages=2), 10), build_model(lite(frozen_stages=0), 7)
    torch.testing.assert_close(
        a.stages["mbconv3"][0]._depthwise_conv.weight, b.stages["mbconv3"][0]._depthwise_conv.weight
    )
    assert a.head.out_features == 10 and b.head.out_features == 7


@pytest.mark.parametrize("k", [0, 1, 4, 9])
def test_frozen_parameters_do_not_change_and_trainable_ones_do(k):
    model = build_model(lite(frozen_stages=k), 10)
    before = snapshot(model)
    one_step(model)
    after = model.state_dict()
    for i, name in enumerate(model.stage_names):
        keys = [key for key in before if key.startswith(f"stages.{name}.")]
        changed = [key for key in keys if not torch.equal(before[key], after[key])]
        if i < k:
            assert not changed, f"frozen stage {name} changed: {changed[:3]}"  # BatchNorm statistics included
        else:
            assert changed, f"trainable stage {name} did not change"
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_all_stages_frozen_is_a_linear_probe():
    model = build_model(lite(), 10)
    assert model.frozen == len(model.stages)
    assert count_parameters(model, trainable_only=True) == 1280 * 10 + 10


def test_frozen_stages_stay_in_eval_mode_when_the_model_trains():
    model = build_model(lite(frozen_stages=3), 10)
    model.train()
    modes = [stage.training for stage in model.stages.values()]
    assert modes == [False] * 3 + [True] * (len(modes) - 3)


@pytest.mark.parametrize("mode", ["concat", "sum", "gate"])
def test_fusion_combines_frozen_source_features_with_a_trainable_branch(mode):
    model = build_model(lite(strategy="fusion", fusion_mode=mode), 10)
    assert model.fusion.mode == mode and model.head is None
    before = snapshot(model)
    one_step(model)
    after = model.state_dict()
    source_changed = [k for k in before if k.startswith("stages.") and not torch.equal(before[k], after[k])]
    branch_changed = [k for k in before if k.startswith("fusion.branch.") and not torch.equal(before[k], after[k])]
    assert not source_changed and branch_changed
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_gate_mixes_source_and_target_per_feature():
    model = build_model(lite(strategy="fusion", fusion_mode="gate"), 10)
    fusion = model.fusion.eval()
    source, images = torch.randn(4, model.fusion.source_proj.in_features), torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        mixed = fusion.features(source, images)
        other_source = fusion.features(torch.randn_like(source), images)
        other_images = fusion.features(source, torch.randn_like(images))
        gate = torch.sigmoid(fusion.gate(torch.cat([source, fusion.branch.forward_features(images)], 1)))
    assert mixed.shape == (4, fusion.gate.out_features)
    assert not torch.allclose(mixed, other_source) and not torch.allclose(mixed, other_images), "reads both inputs"
    assert 0.05 < gate.mean() < 0.95 and gate.std() > 0, "a per-feature mix, not a switch stuck on one side"


def test_discriminative_learning_rates_shrink_towards_the_input():
    model = build_model(lite(frozen_stages=6), 10)
    groups = param_groups(model, lr=1.0, stage_lr_decay=0.5)
    assert [g["lr"] for g in groups] == [0.125, 0.25, 0.5, 1.0]  # mbconv6, mbconv7, head stage, new head
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for g in groups for p in g["params"]} == trainable
