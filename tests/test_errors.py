"""User faults reach the user as one line, wherever they were raised."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch.utils.data import DataLoader

from mgat.data.frames import FrameDataset
from mgat.errors import DataError


@pytest.mark.parametrize("workers", [0, 1])
def test_a_loader_worker_error_reads_as_without_workers(tmp_path: Path, workers: int) -> None:
    broken = tmp_path / "0001_c1s1_000001_00.jpg"
    broken.write_bytes(b"not a jpeg")
    loader = DataLoader(FrameDataset([(str(broken), 0, 0)]), batch_size=1, num_workers=workers)
    with pytest.raises(DataError) as err:
        next(iter(loader))
    assert str(err.value) == (
        f"cannot read image {broken} (UnidentifiedImageError: cannot identify image file "
        f"'{broken}'); the dataset is corrupt or incomplete, re-extract the archive or "
        "regenerate the synthetic data"
    )
