"""The backbone factory and the ResNet-bn model (resnet18 and small inputs to stay fast)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision.models as tvm

from mgat.errors import ConfigError, MgatError
from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import BACKBONES, MaskedGraphAttention, ReidNet, build_backbone


def images(n: int = 4, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(n, 3, 64, 32, generator=torch.Generator().manual_seed(0), dtype=dtype)


@pytest.fixture(scope="module")
def resnet18_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A randomly initialised torchvision resnet18 state dict saved to a file."""
    torch.manual_seed(7)
    state = tvm.resnet18(weights=None).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet18-random.pth"
    torch.save(state, path)
    return path, state


def assert_one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    assert isinstance(exc.value, MgatError)
    return text


# --- ReidNet ---------------------------------------------------------------------------------


def test_reidnet_shapes_train_and_eval() -> None:
    model = ReidNet("resnet18", num_classes=7)
    assert model.feature_dim == 512
    x, logits = model(images())
    assert x.shape == (4, 512)
    assert logits.shape == (4, 7)
    torch.testing.assert_close(model.classify(x), logits)
    model.eval()
    out = model(images())
    assert isinstance(out, torch.Tensor)
    assert out.shape == (4, 512)
    torch.testing.assert_close(model.features(images()), out)


def test_reidnet_head_init_and_frozen_bn_bias() -> None:
    model = ReidNet("resnet18", num_classes=50)
    assert model.classifier.bias is None
    assert torch.all(model.bn.weight == 1)
    assert torch.all(model.bn.bias == 0)
    assert not model.bn.bias.requires_grad
    std = model.classifier.weight.std().item()
    assert 0.0008 < std < 0.0012

    optimiser = torch.optim.SGD(
        model.param_groups(0.001, 0.01), lr=0.01, momentum=0.9, weight_decay=5e-4
    )
    labels = torch.tensor([0, 1, 0, 1])
    for _ in range(2):
        optimiser.zero_grad()
        _, logits = model(images())
        identity_loss(logits, labels).backward()
        optimiser.step()
    assert torch.all(model.bn.bias == 0)
    assert not model.bn.bias.requires_grad
    assert not torch.all(model.bn.weight == 1)  # the rest of the head does train


def test_param_groups_cover_trainable_parameters_once() -> None:
    model = ReidNet("resnet18", num_classes=5)
    groups = model.param_groups(backbone_lr=0.001, head_lr=0.01)
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert [g["lr"] for g in groups] == [0.001, 0.01]
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in model.parameters() if p.requires_grad}
    head = {id(p) for p in groups[1]["params"]}
    assert head == {id(model.bn.weight), id(model.classifier.weight)}
    with pytest.raises(ValueError, match="head_lr"):
        model.param_groups(0.001, -1.0)


def test_state_dict_carries_stage1_into_stage2() -> None:
    stage1 = ReidNet("resnet18", num_classes=6)
    stage2 = ReidNet("resnet18", num_classes=6)
    stage2.load_state_dict(stage1.state_dict())
    stage1.eval()
    stage2.eval()
    torch.testing.assert_close(stage2(images()), stage1(images()))


def test_stage2_step_float64() -> None:
    """X -> MGAT -> X' classified by the stage-1 classifier, plus the OF loss, in float64."""
    model = ReidNet("resnet18", num_classes=3).double()
    labels = torch.tensor([2, 2, 2, 0, 0, 0])
    x = model.features(images(6, torch.float64))
    x_prime = MaskedGraphAttention(250.0)(x, labels)
    loss = identity_loss(model.classify(x_prime), labels) + OptimizationFeedbackLoss()(x_prime, x)
    assert loss.dtype == torch.float64
    loss.backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_reidnet_rejects_bad_num_classes() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        ReidNet("resnet18", num_classes=0)


# --- build_backbone --------------------------------------------------------------------------


def test_backbone_registry_and_dims() -> None:
    assert {"resnet18", "resnet34", "resnet50", "resnet101"} <= set(BACKBONES)
    trunk, dim = build_backbone("resnet18")
    assert dim == 512
    assert trunk(images(2)).shape == (2, 512)
    assert not any(key.startswith("fc.") for key in trunk.state_dict())
    _, dim50 = build_backbone("resnet50", None)
    assert dim50 == 2048


def test_unknown_backbone_lists_names() -> None:
    with pytest.raises(ConfigError) as exc:
        build_backbone("resnet17")
    text = assert_one_line(exc)
    assert "resnet17" in text
    assert "resnet18" in text
    assert "resnet50" in text


@pytest.mark.parametrize("as_path", [False, True], ids=["str", "Path"])
def test_load_local_state_dict(resnet18_state: tuple[Path, dict], as_path: bool) -> None:
    path, state = resnet18_state
    trunk, _ = build_backbone("resnet18", path if as_path else str(path))
    loaded = trunk.state_dict()
    for key, value in state.items():
        if key.startswith("fc."):
            continue
        assert torch.equal(loaded[key], value), key


def test_state_dict_with_missing_and_unexpected_keys(
    resnet18_state: tuple[Path, dict], tmp_path: Path
) -> None:
    _, state = resnet18_state
    broken = dict(state)
    del broken["layer1.0.conv1.weight"]
    broken["head.extra"] = torch.zeros(3)
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(ConfigError) as exc:
        build_backbone("resnet18", path)
    text = assert_one_line(exc)
    assert "layer1.0.conv1.weight" in text
    assert "head.extra" in text


def test_state_dict_of_another_model(resnet18_state: tuple[Path, dict]) -> None:
    path, _ = resnet18_state
    with pytest.raises(ConfigError) as exc:
        build_backbone("resnet34", path)
    assert "missing keys" in assert_one_line(exc)


@pytest.mark.parametrize("content", ["text", "list", "missing"])
def test_bad_weights_file_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "weights.pth"
    if content == "text":
        path.write_text("these are not weights\nsecond line\n")
    elif content == "list":
        torch.save([1, 2, 3], path)
    with pytest.raises(ConfigError) as exc:
        build_backbone("resnet18", path)
    assert "weights.pth" in assert_one_line(exc)
