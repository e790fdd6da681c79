"""Transforms, the frame dataset and the reproducible loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mgat.data import transforms
from mgat.data.base import Item
from mgat.data.frames import FrameDataset, flatten_frames, make_loader, person_index
from mgat.data.samplers import PersonRoundRobinSampler
from mgat.errors import DataError

CPU = torch.device("cpu")


def write_png(path: Path, seed: int, size: tuple[int, int] = (24, 48)) -> str:
    """A random RGB image of ``size`` (width, height); left and right halves differ."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return str(path)


# ---------------------------------------------------------------- transforms


def normalised(image: torch.Tensor) -> torch.Tensor:
    return transforms.model_input(image[None], CPU)[0]


def test_train_transform_shape_and_normalisation() -> None:
    gray = Image.new("RGB", (64, 128), (124, 116, 104))  # ~ImageNet mean in 0..255
    raw = transforms.train_transform()(gray)
    assert raw.shape == (3, 256, 128) and raw.dtype == torch.uint8  # the loader ships bytes
    out = normalised(raw)
    assert out.dtype == torch.float32
    assert out.abs().max() < 0.01
    white = normalised(transforms.test_transform(32, 16)(Image.new("RGB", (10, 20), "white")))
    assert white.shape == (3, 32, 16)
    stats = zip(transforms.IMAGENET_MEAN, transforms.IMAGENET_STD, strict=True)
    expected = [(1 - m) / s for m, s in stats]
    assert torch.allclose(white.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-4)


def test_model_input_equals_normalising_each_image_in_float64(tmp_path: Path) -> None:
    """The batch path (uint8 -> device -> scale, normalise, layout) against the definition
    (x / 255 - mean) / std in float64, image by image, in both layouts."""
    images = torch.stack(
        [
            transforms.test_transform(16, 8)(Image.open(write_png(tmp_path / f"{i}.png", i)))
            for i in range(3)
        ]
    )
    mean = torch.tensor(transforms.IMAGENET_MEAN, dtype=torch.float64)[:, None, None]
    std = torch.tensor(transforms.IMAGENET_STD, dtype=torch.float64)[:, None, None]
    expected = torch.stack([(im.double() / 255 - mean) / std for im in images])
    for layout in (torch.contiguous_format, torch.channels_last):
        out = transforms.model_input(images, CPU, layout)
        assert out.dtype == torch.float32 and out.is_contiguous(memory_format=layout)
        torch.testing.assert_close(out.double(), expected, rtol=0, atol=1e-6)
    with pytest.raises(TypeError, match="uint8"):
        transforms.model_input(images.float(), CPU)


def test_flip_follows_torch_seed(tmp_path: Path) -> None:
    image = Image.open(write_png(tmp_path / "a.png", 0)).convert("RGB")
    plain = transforms.test_transform(48, 24)(image)
    flip = transforms.train_transform(48, 24)

    def draws(seed: int) -> list[bool]:
        torch.manual_seed(seed)
        outs = [flip(image) for _ in range(16)]
        for out in outs:
            assert torch.equal(out, plain) or torch.equal(out, plain.flip(-1))
        return [torch.equal(out, plain.flip(-1)) for out in outs]

    first = draws(123)
    assert first == draws(123)
    assert any(first) and not all(first)
    no_flip = transforms.train_transform(48, 24, flip=False)
    assert all(torch.equal(no_flip(image), plain) for _ in range(8))


# ---------------------------------------------------------------- frames


def test_flatten_frames_video_and_image_items() -> None:
    video = [Item(("a/1.jpg", "a/2.jpg"), 0, 1), Item(("b/1.jpg",), 1, 2), Item(("a/9.jpg",), 0, 2)]
    assert flatten_frames(video) == [
        ("a/1.jpg", 0, 1),
        ("a/2.jpg", 0, 1),
        ("b/1.jpg", 1, 2),
        ("a/9.jpg", 0, 2),
    ]
    images = [Item("x.jpg", 3, 0), Item("y.jpg", 2, 1)]
    assert flatten_frames(images) == [("x.jpg", 3, 0), ("y.jpg", 2, 1)]
    with pytest.raises(DataError, match="no frames"):
        flatten_frames([Item((), 0, 1)])


def test_person_index_is_cross_camera() -> None:
    samples = flatten_frames(
        [Item(("a1", "a2"), 1, 1), Item(("b1",), 0, 1), Item(("a3", "a4"), 1, 2), Item("c", 0, 2)]
    )
    index = person_index(samples)
    assert index == {0: [2, 5], 1: [0, 1, 3, 4]}
    assert list(index) == [0, 1]


def test_frame_dataset_loads_png(tmp_path: Path) -> None:
    path = write_png(tmp_path / "p.png", 1)
    Image.open(path).convert("L").save(tmp_path / "gray.png")  # grayscale -> RGB
    dataset = FrameDataset(
        [(path, 4, 2), (str(tmp_path / "gray.png"), 5, 1)], transforms.test_transform(16, 8)
    )
    assert len(dataset) == 2
    image, pid, camid, index = dataset[1]
    assert image.shape == (3, 16, 8)
    assert (pid, camid, index) == (5, 1, 1)
    raw, *_ = FrameDataset([(path, 4, 2)])[0]
    assert raw.shape == (3, 48, 24)
    assert raw.min() >= 0.0 and raw.max() <= 1.0


def test_frame_dataset_corrupt_image_is_data_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    dataset = FrameDataset([(str(bad), 0, 1), (str(tmp_path / "missing.png"), 0, 1)])
    with pytest.raises(DataError, match=r"bad\.jpg.*corrupt"):
        dataset[0]
    with pytest.raises(DataError, match=r"missing\.png"):
        dataset[1]


# ---------------------------------------------------------------- loader


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int, int]]:
    root = tmp_path_factory.mktemp("frames")
    counts = [3, 2, 4, 1, 3, 2]
    items = []
    for pid, n in enumerate(counts):
        frames = tuple(write_png(root / f"p{pid}" / f"{f}.png", 10 * pid + f) for f in range(n))
        items.append(Item(frames, pid, 1 + pid % 2))
    return flatten_frames(items)


def run_training(samples, workers: int, epochs: range, state=None):
    """Batches and images of ``epochs``; returns them and the sampler state at the end."""
    dataset = FrameDataset(samples, transforms.train_transform(16, 8))
    sampler = PersonRoundRobinSampler(person_index(samples), persons_per_batch=4, seed=9)
    if state is not None:
        sampler.load_state_dict(state)
    out = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        loader = make_loader(dataset, sampler, workers, CPU, seed=9, epoch=epoch)
        for images, pids, _camids, idx in loader:
            out.append((idx.tolist(), pids.tolist(), images))
        torch.rand(7)  # the training step's own use of the global RNG must not matter
    return out, sampler.state_dict()


def assert_same(a, b) -> None:
    assert len(a) == len(b)
    for (ia, pa, xa), (ib, pb, xb) in zip(a, b, strict=True):
        assert ia == ib and pa == pb
        assert torch.equal(xa, xb)


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_is_reproducible_and_resumable(samples, workers: int) -> None:
    torch.manual_seed(0)
    straight, _ = run_training(samples, workers, range(2))
    torch.manual_seed(1)  # a different global RNG state must not change the data
    again, _ = run_training(samples, workers, range(2))
    assert_same(straight, again)
    # Flips do happen: some image differs from its unflipped evaluation version.
    plain = FrameDataset(samples, transforms.test_transform(16, 8))
    flipped = [
        not torch.equal(img, plain[i][0])
        for idx, _, images in straight
        for i, img in zip(idx, images, strict=True)
    ]
    assert any(flipped) and not all(flipped)
    # Kill after epoch 0 and resume from its saved state.
    head, state = run_training(samples, workers, range(1))
    tail, _ = run_training(samples, workers, range(1, 2), state=state)
    assert_same(head + tail, straight)


def test_the_number_of_workers_changes_no_batch(samples) -> None:
    """Each sample's flip is seeded from (seed, epoch, batch, position), so 0, 1 and 2 workers
    (the counts of 1-2, 3 and 5 threads) load the same epochs."""
    alone, _ = run_training(samples, 0, range(2))
    for workers in (1, 2):
        assert_same(run_training(samples, workers, range(2))[0], alone)


def test_loader_pin_memory_only_on_cuda(samples) -> None:
    dataset = FrameDataset(samples, transforms.test_transform(16, 8))
    sampler = PersonRoundRobinSampler(person_index(samples), persons_per_batch=4)
    loader = make_loader(dataset, sampler, 0, CPU, seed=0, epoch=0)
    assert loader.pin_memory is False
    assert loader.num_workers == 0
    assert len(loader) == len(sampler)
    cuda = make_loader(dataset, sampler, 1, torch.device("cuda"), seed=0, epoch=0)
    assert cuda.pin_memory is True  # configured only; nothing is loaded here
    assert cuda.prefetch_factor == 4
