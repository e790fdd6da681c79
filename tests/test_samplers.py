"""The two person-balanced batch samplers: composition, determinism and resume."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import pytest

from mgat.data.samplers import PersonRoundRobinSampler, PKSampler
from mgat.errors import ConfigError


def make_index(counts: list[int]) -> dict[int, list[int]]:
    """Person p owns ``counts[p]`` consecutive sample indices."""
    index: dict[int, list[int]] = {}
    start = 0
    for pid, n in enumerate(counts):
        index[pid] = list(range(start, start + n))
        start += n
    return index


COUNTS = [1, 2, 3, 5, 8, 13, 4, 4, 7, 2, 20, 6]
INDEX = make_index(COUNTS)
OWNER = {i: pid for pid, ids in INDEX.items() for i in ids}


def run_epochs(sampler, epochs: range) -> list[list[int]]:
    batches = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        batches.extend(list(sampler))
    return batches


# ---------------------------------------------------------------- stage 1


def test_round_robin_batches_hold_distinct_persons_one_image_each() -> None:
    sampler = PersonRoundRobinSampler(INDEX, persons_per_batch=8, seed=3)
    batches = run_epochs(sampler, range(4))
    for batch in batches:
        assert len(batch) == 8
        assert len({OWNER[i] for i in batch}) == 8


def test_round_robin_draws_each_persons_images_in_turn() -> None:
    sampler = PersonRoundRobinSampler(INDEX, persons_per_batch=8, seed=1)
    drawn: dict[int, list[int]] = {pid: [] for pid in INDEX}
    for batch in run_epochs(sampler, range(6)):
        for i in batch:
            drawn[OWNER[i]].append(i)
    for pid, images in INDEX.items():
        seq = drawn[pid]
        n = len(images)
        assert len(seq) >= 2 * n, "test should see at least two cycles per person"
        # Every full block of n draws is a permutation of the person's images.
        for start in range(0, len(seq) - n + 1, n):
            assert sorted(seq[start : start + n]) == images


def test_round_robin_visits_persons_evenly() -> None:
    sampler = PersonRoundRobinSampler(INDEX, persons_per_batch=8, seed=2)
    batches = run_epochs(sampler, range(3))
    counts = Counter(OWNER[i] for batch in batches for i in batch)
    # A shuffled cycle through persons: visit counts differ by at most one pass boundary.
    assert max(counts.values()) - min(counts.values()) <= 1


def test_round_robin_default_length() -> None:
    sampler = PersonRoundRobinSampler(INDEX, persons_per_batch=8)
    assert len(sampler) == math.ceil(sum(COUNTS) / 8)
    assert len(list(sampler)) == len(sampler)
    assert len(PersonRoundRobinSampler(INDEX, batches_per_epoch=5)) == 5


def test_round_robin_is_deterministic() -> None:
    a = run_epochs(PersonRoundRobinSampler(INDEX, seed=7), range(3))
    b = run_epochs(PersonRoundRobinSampler(INDEX, seed=7), range(3))
    c = run_epochs(PersonRoundRobinSampler(INDEX, seed=8), range(3))
    assert a == b
    assert a != c


def test_round_robin_resume_across_epoch_boundary() -> None:
    straight = run_epochs(PersonRoundRobinSampler(INDEX, seed=5), range(3))
    first = PersonRoundRobinSampler(INDEX, seed=5)
    head = run_epochs(first, range(1))
    saved = json.loads(json.dumps(first.state_dict()))
    resumed = PersonRoundRobinSampler(INDEX, seed=5)
    resumed.load_state_dict(saved)
    tail = run_epochs(resumed, range(1, 3))
    assert head + tail == straight


def test_round_robin_mid_epoch_state_continues() -> None:
    straight = list(PersonRoundRobinSampler(INDEX, seed=4))
    first = PersonRoundRobinSampler(INDEX, seed=4)
    it = iter(first)
    head = [next(it) for _ in range(3)]
    resumed = PersonRoundRobinSampler(INDEX, seed=4)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert head + list(resumed) == straight


def test_round_robin_rejects_too_few_persons() -> None:
    with pytest.raises(ConfigError, match="persons"):
        PersonRoundRobinSampler(make_index([3] * 7), persons_per_batch=8)


def test_round_robin_exactly_p_persons_still_distinct() -> None:
    index = make_index([2, 3, 1, 4])
    owner = {i: pid for pid, ids in index.items() for i in ids}
    sampler = PersonRoundRobinSampler(index, persons_per_batch=4, batches_per_epoch=10)
    for batch in sampler:
        assert sorted(owner[i] for i in batch) == [0, 1, 2, 3]


def test_state_from_other_training_set_is_rejected() -> None:
    sampler = PersonRoundRobinSampler(INDEX)
    other = PersonRoundRobinSampler(make_index([*COUNTS[:-1], 3]))
    with pytest.raises(ConfigError, match="different training set"):
        other.load_state_dict(sampler.state_dict())
    with pytest.raises(ConfigError, match="not saved by this sampler"):
        PKSampler(INDEX, 8, 4).load_state_dict(sampler.state_dict())


# ---------------------------------------------------------------- stage 2


def test_pk_batches_are_grouped_by_person() -> None:
    m, k = 4, 5
    sampler = PKSampler(INDEX, persons_per_batch=m, images_per_person=k, seed=0)
    for batch in run_epochs(sampler, range(3)):
        assert len(batch) == m * k
        groups = [batch[i * k : (i + 1) * k] for i in range(m)]
        owners = []
        for group in groups:
            (pid,) = {OWNER[i] for i in group}
            owners.append(pid)
            images = INDEX[pid]
            if len(images) >= k:
                assert len(set(group)) == k  # without replacement
            else:
                assert set(group) == set(images)  # every image, then repeats
        assert len(set(owners)) == m


def test_pk_default_length_and_paper_batch_size() -> None:
    index = make_index([20] * 10)
    sampler = PKSampler(index)
    assert len(sampler) == math.ceil(200 / 128)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert all(len(b) == 128 for b in batches)


def test_pk_is_deterministic_and_resumable() -> None:
    def make() -> PKSampler:
        return PKSampler(INDEX, persons_per_batch=3, images_per_person=4, seed=11)

    straight = run_epochs(make(), range(3))
    assert straight == run_epochs(make(), range(3))
    first = make()
    head = run_epochs(first, range(1))
    saved = json.loads(json.dumps(first.state_dict()))
    resumed = make()
    resumed.load_state_dict(saved)
    assert head + run_epochs(resumed, range(1, 3)) == straight


def test_pk_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="distinct persons"):
        PKSampler(make_index([4] * 5), persons_per_batch=8)
    with pytest.raises(ValueError, match="images_per_person"):
        PKSampler(INDEX, images_per_person=0)
    with pytest.raises(ConfigError, match="settings"):
        PKSampler(INDEX, 4, 4).load_state_dict(PKSampler(INDEX, 4, 5).state_dict())


def test_pk_works_as_batch_sampler() -> None:
    from torch.utils.data import DataLoader

    data = list(range(sum(COUNTS)))
    loader = DataLoader(data, batch_sampler=PKSampler(INDEX, 2, 3, batches_per_epoch=4))
    batches = [b.tolist() for b in loader]
    assert len(batches) == 4
    assert all(len(b) == 6 for b in batches)


# ---------------------------------------------------------------- cross-camera image sets

# Camera of every sample: each person's images split unevenly over cameras 1 and 2 (person 0,
# with one image, has one camera only).
CAMIDS = [1 + (i % 3 == 0) for i in range(sum(COUNTS))]


def cameras_of(pid: int) -> dict[int, set[int]]:
    by_camera: dict[int, set[int]] = {}
    for i in INDEX[pid]:
        by_camera.setdefault(CAMIDS[i], set()).add(i)
    return by_camera


def test_round_robin_alternates_a_persons_cameras() -> None:
    """Stage 1 with cameras: a person's successive images come from its cameras in turn, and
    each camera's images are all used before one repeats."""
    sampler = PersonRoundRobinSampler(INDEX, persons_per_batch=8, seed=3, camids=CAMIDS)
    drawn: dict[int, list[int]] = {}
    for batch in run_epochs(sampler, range(4)):
        for i in batch:
            drawn.setdefault(OWNER[i], []).append(i)
    for pid, images in drawn.items():
        cams = [CAMIDS[i] for i in images]
        if len(cameras_of(pid)) == 2:
            assert all(a != b for a, b in itertools.pairwise(cams)), pid
        for camera, own in cameras_of(pid).items():
            sequence = [i for i in images if CAMIDS[i] == camera]
            for start in range(0, len(sequence) - len(own) + 1, len(own)):
                assert set(sequence[start : start + len(own)]) == own, (pid, camera)


def test_pk_spreads_k_over_a_persons_cameras() -> None:
    """Stage 2 with cameras: the K images of a person come from all its cameras, as evenly as
    the cameras' images allow, and repeat only when the person has fewer than K images."""
    k = 6
    sampler = PKSampler(INDEX, persons_per_batch=4, images_per_person=k, seed=2, camids=CAMIDS)
    for batch in run_epochs(sampler, range(3)):
        for start in range(0, len(batch), k):
            block = batch[start : start + k]
            pid = OWNER[block[0]]
            by_camera = cameras_of(pid)
            counts = Counter(CAMIDS[i] for i in block)
            if len(INDEX[pid]) >= k:
                assert len(set(block)) == k  # no repeats
            else:
                assert set(block) == set(INDEX[pid])  # every image, then repeats
            if len(by_camera) == 2 and len(INDEX[pid]) >= k:
                smaller = min(len(v) for v in by_camera.values())
                assert min(counts.values()) == min(smaller, k // 2), (pid, counts)


def test_cross_camera_state_resumes() -> None:
    straight = run_epochs(PersonRoundRobinSampler(INDEX, seed=5, camids=CAMIDS), range(3))
    first = PersonRoundRobinSampler(INDEX, seed=5, camids=CAMIDS)
    head = run_epochs(first, range(1))
    resumed = PersonRoundRobinSampler(INDEX, seed=5, camids=CAMIDS)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert head + run_epochs(resumed, range(1, 3)) == straight
    with pytest.raises(ConfigError, match="settings"):
        PersonRoundRobinSampler(INDEX, seed=5).load_state_dict(first.state_dict())
