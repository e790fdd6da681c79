"""Does MGAT act at a given gamma? The attention and loss gradients of one stage-2 batch.

Loads a trained stage-1 model, draws one PK batch (M persons x K images) of a split's training
set, and reports for each place MGAT can read X (``pooled``: before the BN; ``bn``: after it):
the median squared distance e^2 between images, the mean self weight alpha_ii and
||X' - X|| / ||X|| at each gamma, and the norms at X of the identity-loss gradient and of the
two OF losses' gradients (``mse`` averaged; ``l2sum``: ``l2`` summed over the batch, eq. 11 as
printed). The figures recorded in
docs/protocol.md come from this script on the demo's baseline:

    python benchmarks/attention_scale.py results/demo/ilidsvid/split0/baseline/model.pt \\
        --root results/demo/data/ilidsvid --splits results/demo/splits/ilidsvid.json \\
        --dataset ilidsvid --out benchmarks/results/attention_scale_demo.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from mgat.data.frames import FrameDataset, flatten_frames, person_index
from mgat.data.registry import open_dataset
from mgat.data.samplers import PKSampler
from mgat.data.splits import read_splits, select_split
from mgat.data.transforms import model_input, test_transform
from mgat.engine.diagnostics import attention_statistics
from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import MaskedGraphAttention
from mgat.models.saved import load_reid_model


def one_batch(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor]:
    record = read_splits(args.splits, args.dataset)
    data = open_dataset(args.dataset, args.root).load(select_split(record, args.split))
    samples = flatten_frames(data.train)
    sampler = PKSampler(
        person_index(samples),
        persons_per_batch=args.persons,
        images_per_person=args.images,
        batches_per_epoch=1,
        seed=args.seed,
    )
    sampler.set_epoch(0)
    indices = next(iter(sampler))
    images = FrameDataset(samples, test_transform(args.height, args.width))
    batch = [images[i] for i in indices]
    images = model_input(torch.stack([b[0] for b in batch]), torch.device("cpu"))
    return images, torch.tensor([b[1] for b in batch])


def measure(model, images, labels, features: str, gammas: list[float]) -> dict:
    x = model.embed(images) if features == "pooled" else model.features(images)
    out: dict = {"features": features, "n": x.shape[0], "d": x.shape[1], "gammas": {}}
    out["x_norm_per_image"] = float(x.detach().norm(dim=1).mean())
    for gamma in gammas:
        x_prime = MaskedGraphAttention(gamma)(x, labels)
        logits = model.classify_pooled(x_prime) if features == "pooled" else model.classify(x_prime)
        stats = attention_statistics(x, x_prime, labels, gamma)
        grads = {}
        for name, loss in (
            ("id", identity_loss(logits, labels)),
            ("of_mse", OptimizationFeedbackLoss("mse")(x_prime, x)),
            ("of_l2sum", OptimizationFeedbackLoss("l2", reduction="sum")(x_prime, x)),
        ):
            (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
            grads[f"{name}_grad_x"] = float(grad.norm())
        out["e2_median"] = float(stats["e2_median"])
        out["gammas"][str(gamma)] = {
            "alpha_self": float(stats["alpha_self"]),
            "attn_same": float(stats["attn_same"]),
            "rel_change": float(stats["rel_change"]),
            **grads,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="a stage-1 model.pt")
    parser.add_argument("--root", required=True, help="the folder that holds the dataset")
    parser.add_argument("--splits", required=True, help="the dataset's splits file")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--persons", type=int, default=8, help="M")
    parser.add_argument("--images", type=int, default=16, help="K")
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--gammas", type=float, nargs="+", default=[1, 100, 250, 1e4, 1e6])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model = load_reid_model(args.model).train()  # BN on batch statistics, as in stage 2
    images, labels = one_batch(args)
    results = [measure(model, images, labels, f, args.gammas) for f in ("pooled", "bn")]
    for result in results:
        print(
            f"\n{result['features']}: N={result['n']} d={result['d']} median e^2="
            f"{result['e2_median']:.4g} mean ||x||={result['x_norm_per_image']:.4g}"
        )
        print("gamma      alpha_ii  same    ||X'-X||/||X||  id_grad   of_mse_grad  of_l2sum_grad")
        for gamma, row in result["gammas"].items():
            print(
                f"{float(gamma):<10g} {row['alpha_self']:.4f}    {row['attn_same']:.4f}  "
                f"{row['rel_change']:<15.3e} {row['id_grad_x']:<9.3e} "
                f"{row['of_mse_grad_x']:<12.3e} {row['of_l2sum_grad_x']:.3e}"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"model": str(args.model), "dataset": args.dataset, "results": results}
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
