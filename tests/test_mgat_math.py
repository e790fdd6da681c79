"""MGAT and the losses against float64 references written from the paper's equations."""

from __future__ import annotations

import math

import pytest
import torch

from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import MaskedGraphAttention, attention_matrix, mask_matrix, pairwise_sq_distances


def reference_mgat(x: torch.Tensor, labels: torch.Tensor, gamma: float, masked: bool):
    """Eq. (1)-(3) and (8)-(9) (or eq. 6 unmasked) as plain float64 loops."""
    rows = x.tolist()
    ids = labels.tolist()
    n, d = len(rows), len(rows[0])

    def edge(i: int, j: int) -> float:  # eq. (1)
        return math.sqrt(sum((rows[i][c] - rows[j][c]) ** 2 for c in range(d)))

    alpha = [[0.0] * n for _ in range(n)]
    for i in range(n):
        unnormalised = [math.exp(-(edge(i, j) ** 2) / gamma) for j in range(n)]  # eq. (2)
        total = sum(unnormalised)
        alpha[i] = [a / total for a in unnormalised]  # eq. (3)
    out = [[0.0] * d for _ in range(n)]
    for i in range(n):
        for k in range(n):
            # +1 for the same class (N_p) or the plain GAT of eq. (6); -1 for N_n (eq. 9-10).
            sign = 1.0 if not masked or ids[i] == ids[k] else -1.0
            for c in range(d):
                out[i][c] += sign * alpha[i][k] * rows[k][c]
    attention = torch.tensor(alpha, dtype=torch.float64)
    return torch.tensor(out, dtype=torch.float64), attention


def clustered_features(n_ids: int, per_id: int, dim: int, norm: float, seed: int = 0):
    """Features with a large common offset (norm ~ ``norm``), identity clusters and noise."""
    gen = torch.Generator().manual_seed(seed)
    offset = torch.randn(dim, generator=gen, dtype=torch.float64)
    offset = offset / offset.norm() * norm
    centres = torch.randn(n_ids, dim, generator=gen, dtype=torch.float64) * 0.6
    noise = torch.randn(n_ids * per_id, dim, generator=gen, dtype=torch.float64) * 0.3
    labels = torch.arange(n_ids).repeat_interleave(per_id)
    return offset + centres[labels] + noise, labels


@pytest.mark.parametrize("masked", [True, False], ids=["mgat", "gat"])
def test_mgat_matches_double_loop(masked: bool) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(11, 5, generator=gen, dtype=torch.float64) * 1.5
    labels = torch.randint(0, 4, (11,), generator=gen)  # random order, not PK-ordered
    gamma = 6.0
    expected_out, expected_attention = reference_mgat(x, labels, gamma, masked)
    module = MaskedGraphAttention(gamma, masked=masked)
    out = module(x, labels)
    assert out.dtype == torch.float64
    torch.testing.assert_close(module.attention(x), expected_attention, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out, expected_out, rtol=1e-10, atol=1e-12)


def test_attention_rows_sum_to_one() -> None:
    x, _ = clustered_features(4, 8, 64, norm=50.0)
    a = attention_matrix(x.float(), gamma=250.0)
    assert a.dtype == torch.float32
    assert (a >= 0).all()
    torch.testing.assert_close(a.sum(dim=1), torch.ones(32), rtol=0, atol=1e-5)


def test_squared_distances_exact_diagonal_and_nonnegative() -> None:
    x, _ = clustered_features(4, 4, 32, norm=1e3)
    x = torch.cat([x, x[:2]])  # duplicates: off-diagonal zero distances
    e2 = pairwise_sq_distances(x.float())
    assert (e2 >= 0).all()
    assert (e2.diagonal() == 0).all()
    torch.testing.assert_close(e2.double(), torch.cdist(x, x) ** 2, rtol=1e-4, atol=1e-2)


def test_mask_is_eq4_on_pk_batch() -> None:
    persons, k = 3, 4
    ids = torch.tensor([17, 4, 9]).repeat_interleave(k)
    index = torch.arange(persons * k)
    expected = torch.where(index[:, None] // k == index[None, :] // k, 1.0, -1.0)
    torch.testing.assert_close(mask_matrix(ids), expected)
    assert torch.equal(MaskedGraphAttention(1.0).mask(ids, torch.float64), expected.double())


def test_mgat_is_masked_attention_times_x_and_gat_is_a_x() -> None:
    x, labels = clustered_features(3, 5, 16, norm=10.0)
    labels = labels[torch.randperm(15, generator=torch.Generator().manual_seed(1))]
    mgat, gat = MaskedGraphAttention(4.0), MaskedGraphAttention(4.0, masked=False)
    a = mgat.attention(x)
    torch.testing.assert_close(gat(x, labels), a @ x)
    torch.testing.assert_close(gat(x), a @ x)
    torch.testing.assert_close(mgat(x, labels), (a * mgat.mask(labels, x.dtype)) @ x)


@pytest.mark.parametrize("masked", [True, False], ids=["mgat", "gat"])
def test_gradcheck(masked: bool) -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([2, 0, 2, 1, 0, 2])
    module = MaskedGraphAttention(3.0, masked=masked)
    assert torch.autograd.gradcheck(lambda f: module(f, labels), (x,))


def test_gradient_finite_at_zero_distance() -> None:
    x = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    x.requires_grad_(True)
    MaskedGraphAttention(2.0)(x, torch.tensor([0, 0, 1])).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_large_norm_float32_finite_and_accurate() -> None:
    x64, labels = clustered_features(8, 16, 2048, norm=1e3)  # N=128, squared distances ~1e3
    module = MaskedGraphAttention(250.0)
    x = x64.float().requires_grad_(True)
    out = module(x, labels)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    # The attention is neither one-hot nor uniform for this gamma, so the check is meaningful.
    a = module.attention(x64)
    assert 0.05 < a.diagonal().mean() < 0.9
    torch.testing.assert_close(module.attention(x.detach()).double(), a, rtol=0, atol=1e-4)
    torch.testing.assert_close(out.detach().double(), module(x64, labels), rtol=0, atol=0.05)


def test_bf16_autocast_close_to_float32() -> None:
    x64, labels = clustered_features(8, 16, 2048, norm=1e3)
    module = MaskedGraphAttention(250.0)
    x32 = x64.float()
    reference = module(x32, labels)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        from_float32 = module(x32, labels)
        x16 = x32.bfloat16()
        from_bf16 = module(x16, labels)
    assert from_float32.dtype == torch.float32
    assert from_bf16.dtype == torch.bfloat16
    assert torch.isfinite(from_bf16.float()).all()
    torch.testing.assert_close(from_float32, reference)
    # Same bf16-rounded input computed in float32: only the output rounding differs.
    torch.testing.assert_close(from_bf16.float(), module(x16.float(), labels), rtol=1e-2, atol=0.1)
    scale = reference.abs().max()
    assert (from_bf16.float() - reference).abs().max() < 0.05 * scale


def test_mgat_rejects_bad_gamma_and_shapes() -> None:
    for gamma in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="gamma"):
            MaskedGraphAttention(gamma)
    module = MaskedGraphAttention(1.0)
    with pytest.raises(ValueError, match="labels"):
        module(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        module(torch.zeros(4, 3))
    assert "gamma=250, masked=False" in repr(MaskedGraphAttention(250, masked=False))


def test_mgat_has_no_parameters() -> None:
    assert list(MaskedGraphAttention(250.0).parameters()) == []


# --- losses ---------------------------------------------------------------------------------


def of_inputs():
    x_prime = torch.tensor([[3.0, 4.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    return x_prime, x


@pytest.mark.parametrize(
    ("form", "reduction", "value", "x_grad"),
    [
        # mean over 2 images of ||x'-x||^2 / d (d = 2): mean((x'-x)^2); d/dx = -2(x'-x)/4
        ("mse", "mean", 25.0 / 4, [[-1.5, -2.0], [0.0, 0.0]]),
        # summed over the images: 2x the mean
        ("mse", "sum", 25.0 / 2, [[-3.0, -4.0], [0.0, 0.0]]),
        # eq. (11) as printed: ||(3,4)|| + ||0||; a zero row has gradient 0, not NaN
        ("l2", "sum", 5.0, [[-0.6, -0.8], [0.0, 0.0]]),
        ("l2", "mean", 5.0 / 2, [[-0.3, -0.4], [0.0, 0.0]]),
    ],
)
def test_of_loss_values_and_gradients(
    form: str, reduction: str, value: float, x_grad: list
) -> None:
    x_prime, x = of_inputs()
    loss = OptimizationFeedbackLoss(form, weight=2.0, reduction=reduction)(x_prime, x)
    assert loss.item() == pytest.approx(2.0 * value)
    loss.backward()
    assert x_prime.grad is None  # the optimised features are the target
    torch.testing.assert_close(x.grad, 2.0 * torch.tensor(x_grad, dtype=torch.float64))

    x_prime, x = of_inputs()
    OptimizationFeedbackLoss(form, detach_target=False, reduction=reduction)(x_prime, x).backward()
    torch.testing.assert_close(x_prime.grad, -torch.tensor(x_grad, dtype=torch.float64))
    torch.testing.assert_close(x.grad, torch.tensor(x_grad, dtype=torch.float64))


def test_sum_reduction_is_the_batch_size_times_the_mean() -> None:
    """Eq. (11) sums over the graph's nodes: with sum, every loss and gradient of a batch of N
    images is N times that of the mean (the predicted weight movement of docs/protocol.md)."""
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(12, 5, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 5, (12,), generator=gen)
    assert identity_loss(logits, labels, "sum").item() == pytest.approx(
        12 * identity_loss(logits, labels).item()
    )
    x = torch.randn(12, 7, generator=gen, dtype=torch.float64)
    x_prime = torch.randn(12, 7, generator=gen, dtype=torch.float64)
    for form in ("mse", "l2"):
        total = OptimizationFeedbackLoss(form, reduction="sum")(x_prime, x)
        mean = OptimizationFeedbackLoss(form, reduction="mean")(x_prime, x)
        assert total.item() == pytest.approx(12 * mean.item())


def test_of_loss_flows_into_features_only_through_x() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    x_prime = MaskedGraphAttention(4.0)(x, labels)
    OptimizationFeedbackLoss()(x_prime, x).backward()
    direct = (2.0 / x.numel()) * (x - x_prime).detach()
    torch.testing.assert_close(x.grad, direct)


def test_of_loss_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match=r"mse, l2"):
        OptimizationFeedbackLoss("l1")
    with pytest.raises(ValueError, match="weight"):
        OptimizationFeedbackLoss(weight=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        OptimizationFeedbackLoss(reduction="max")


def test_identity_loss_is_plain_cross_entropy() -> None:
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 2)) + math.log(3.0)) / 2
    assert identity_loss(logits, labels).item() == pytest.approx(expected)


# --- what stage 2 records about the attention ------------------------------------------------


def test_attention_statistics_match_the_equations() -> None:
    from mgat.engine.diagnostics import attention_statistics

    torch.manual_seed(3)
    x = torch.randn(6, 4, dtype=torch.float64) * 2
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    gamma = 7.0
    x_prime, alpha = reference_mgat(x, labels, gamma, masked=True)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(6, dtype=torch.bool)
    e2 = torch.cdist(x, x).pow(2)[~eye]
    stats = attention_statistics(x, x_prime, labels, gamma)
    expected = {
        "alpha_self": alpha.diagonal().mean(),
        "attn_same": (alpha * (same & ~eye)).sum(1).mean(),
        "attn_other": (alpha * ~same).sum(1).mean(),
        "e2_median": e2.median(),  # 30 values: torch's median is the lower middle one
        "e2_over_gamma": e2.median() / gamma,
        "rel_change": (x_prime - x).norm() / x.norm(),
        "row_sum": (alpha * torch.where(same, 1.0, -1.0)).sum(1).mean(),  # of A o M
    }
    for name, value in expected.items():
        assert float(stats[name]) == pytest.approx(float(value), rel=1e-5), name
    unmasked = attention_statistics(x, x_prime, labels, gamma, masked=False)
    assert float(unmasked["row_sum"]) == pytest.approx(1.0, rel=1e-6)  # A's rows sum to 1


@pytest.mark.parametrize("features", ["pooled", "bn"])
def test_graph_step_reads_x_where_configured(features: str) -> None:
    """pooled: X is the trunk's pooled feature and BN(X') is classified; bn: X is post-BN and
    X' is classified directly. The logged gradient norms are those of each loss at X."""
    from mgat.engine.steps import GraphStep
    from mgat.models import ReidNet

    torch.manual_seed(0)
    model = ReidNet("resnet18", num_classes=3, weights="none").double().eval()
    images = torch.randn(6, 3, 32, 16, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    graph = MaskedGraphAttention(50.0)
    step = GraphStep(graph, OptimizationFeedbackLoss("l2"), features=features)
    out = step(model, images, labels)

    x = model.embed(images) if features == "pooled" else model.features(images)
    x_prime = graph(x, labels)
    logits = model.classifier(model.bn(x_prime) if features == "pooled" else x_prime)
    id_loss = identity_loss(logits, labels)
    of_loss = OptimizationFeedbackLoss("l2")(x_prime, x)
    torch.testing.assert_close(out["id_loss"], id_loss.detach())
    torch.testing.assert_close(out["of_loss"], of_loss.detach())
    (id_grad,) = torch.autograd.grad(id_loss, x, retain_graph=True)
    (of_grad,) = torch.autograd.grad(of_loss, x)
    assert float(out["id_grad_x"]) == pytest.approx(float(id_grad.norm()), rel=1e-6)
    assert float(out["of_grad_x"]) == pytest.approx(float(of_grad.norm()), rel=1e-6)
    out["loss"].backward()  # the recorded gradients leave the step's own backward intact
    assert model.classifier.weight.grad is not None


def test_graph_step_rejects_unknown_settings() -> None:
    from mgat.engine.steps import GraphStep

    with pytest.raises(ValueError, match="pooled, bn"):
        GraphStep(MaskedGraphAttention(1.0), OptimizationFeedbackLoss(), features="logits")
    with pytest.raises(ValueError, match="train, frozen"):
        GraphStep(MaskedGraphAttention(1.0), OptimizationFeedbackLoss(), bn="eval")
    with pytest.raises(ValueError, match="mean, sum"):
        GraphStep(MaskedGraphAttention(1.0), OptimizationFeedbackLoss(), reduction="max")
    with pytest.raises(ValueError, match="reduces by"):
        GraphStep(MaskedGraphAttention(1.0), OptimizationFeedbackLoss(), reduction="sum")


# --- BatchNorm in stage 2 ---------------------------------------------------------------------


def _pooled_step_model():
    from mgat.models import ReidNet

    torch.manual_seed(0)
    model = ReidNet("resnet18", num_classes=3, weights="none").double().train()
    with torch.no_grad():  # stage-1-like statistics, far from those of this batch
        model.bn.running_mean.fill_(5.0)
        model.bn.running_var.fill_(9.0)
    images = torch.randn(6, 3, 32, 16, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    return model, images, labels


def test_pooled_stage2_estimates_the_head_bn_statistics_on_x() -> None:
    """At test time the head BN normalises X with its running statistics, so in stage 2 they
    must be estimated on X, not on X' (which only exists in training); X' is normalised with
    the statistics of X. Before this was fixed, the running mean tracked the mean of X'."""
    from mgat.engine.steps import GraphStep

    model, images, labels = _pooled_step_model()
    captured = {}
    model.backbone.register_forward_hook(lambda _m, _i, out: captured.setdefault("x", out))
    graph = MaskedGraphAttention(1e6)  # wide attention: X' far from X
    old_mean = model.bn.running_mean.clone()
    old_var = model.bn.running_var.clone()
    out = GraphStep(graph, OptimizationFeedbackLoss(), features="pooled")(model, images, labels)
    x = captured["x"].detach()
    x_prime = graph(x, labels)
    assert (x_prime.mean(0) - x.mean(0)).abs().max() > 1e-3  # the test can tell them apart
    momentum = model.bn.momentum
    torch.testing.assert_close(
        model.bn.running_mean, (1 - momentum) * old_mean + momentum * x.mean(0)
    )
    torch.testing.assert_close(
        model.bn.running_var, (1 - momentum) * old_var + momentum * x.var(0, unbiased=True)
    )
    # X' is classified after a BN that uses the batch statistics of X
    normalised = (x_prime - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + model.bn.eps)
    logits = model.classifier(normalised * model.bn.weight + model.bn.bias)
    torch.testing.assert_close(out["id_loss"], identity_loss(logits, labels).detach())


def test_bn_with_the_statistics_of_itself_is_plain_batchnorm() -> None:
    """With X' = X (the control) the head is exactly BatchNorm in training mode, gradients and
    running statistics included."""
    from mgat.models.reid import _batch_norm_with_statistics_of

    torch.manual_seed(2)
    x = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    ours, theirs = torch.nn.BatchNorm1d(5).double(), torch.nn.BatchNorm1d(5).double()
    with torch.no_grad():
        for bn in (ours, theirs):
            bn.weight.copy_(torch.linspace(0.5, 2.0, 5))
    expected = theirs(x)
    (grad_expected,) = torch.autograd.grad(expected.pow(3).sum(), x)
    got = _batch_norm_with_statistics_of(ours, x, x)
    (grad_got,) = torch.autograd.grad(got.pow(3).sum(), x)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(grad_got, grad_expected)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name))


def test_frozen_bn_keeps_every_running_statistic_and_uses_them() -> None:
    from mgat.engine.steps import GraphStep

    model, images, labels = _pooled_step_model()
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    step = GraphStep(MaskedGraphAttention(50.0), OptimizationFeedbackLoss(), bn="frozen")
    step.train_mode(model)
    assert model.training and not model.bn.training and not model.backbone.bn1.training
    step(model, images, labels)["loss"].backward()
    for name, value in model.state_dict().items():
        if "running" in name:
            torch.testing.assert_close(value, before[name])
    assert model.backbone.conv1.weight.grad is not None  # the weights still train


def test_control_step_is_identity_loss_on_the_plain_network() -> None:
    """The control: X' = X and no OF loss, so its loss is stage 1's identity loss on stage 2's
    batches (with stage 2's reduction)."""
    from mgat.engine.steps import GraphStep

    model, images, labels = _pooled_step_model()
    for reduction in ("mean", "sum"):
        step = GraphStep(None, None, reduction=reduction)
        step.train_mode(model)
        out = step(model, images, labels)
        assert set(out) == {"loss", "id_loss", "correct"}
        model.eval()
        expected = identity_loss(model.classify(model.features(images)), labels, reduction)
        model.train()
        assert out["loss"].item() != pytest.approx(expected.item())  # train-mode BN differs
        _x, logits = model(images)
        torch.testing.assert_close(out["loss"], identity_loss(logits, labels, reduction))
