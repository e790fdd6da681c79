"""Person-balanced batch samplers for the two training stages of Section 4.2.

Stage 1 trains the embedding network on batches of 8 distinct persons with one image each, the
image "selected in turn" from the person's cross-camera image set; stage 2 trains the MGAT on
batches of M persons x K images, grouped by person as eq. (4) assumes.

Both samplers are resumable: what carries over from one epoch to the next (where the pass
through the shuffled person list stands, and for stage 1 where each person's image cycle
stands) lives in the sampler and is saved by :meth:`state_dict`. The random draws of an epoch
come from a numpy generator seeded from ``(seed, epoch)`` when the epoch starts, so an epoch's
batches are a pure function of ``(seed, epoch, state at the epoch's start)``: a run killed after
an epoch and resumed from that epoch's saved state yields exactly the batches of an
uninterrupted run.

After a complete pass the sampler moves on to the next epoch by itself; :meth:`set_epoch` may
still be called before each epoch, as with torch's ``DistributedSampler``. State saved in the
middle of an epoch resumes at the next unyielded batch, but a DataLoader fetches batches ahead
of the training loop, so only state saved at an epoch boundary matches what training consumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Sampler

from mgat.errors import ConfigError

__all__ = ["PKSampler", "PersonRoundRobinSampler"]

_STATE_VERSION = 2


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class _PersonBatchSampler(Sampler[list[int]]):
    """Shared machinery: a shuffled cycle through persons, per-epoch RNG and saved state."""

    kind: str = ""

    def __init__(
        self,
        person_index: dict[int, list[int]],
        persons_per_batch: int,
        batch_size: int,
        batches_per_epoch: int | None,
        seed: int,
        camids: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        _check_positive("persons_per_batch", persons_per_batch)
        if batches_per_epoch is not None:
            _check_positive("batches_per_epoch", batches_per_epoch)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._pids = sorted(int(p) for p in person_index)
        self._images = {p: [int(i) for i in person_index[p]] for p in self._pids}
        empty = [p for p in self._pids if not self._images[p]]
        if empty:
            raise ConfigError(f"{self.kind}: person ids {empty[:5]} have no images")
        if len(self._pids) < persons_per_batch:
            raise ConfigError(
                f"{self.kind}: the training set has {len(self._pids)} persons but a batch needs "
                f"{persons_per_batch} distinct persons; lower persons_per_batch"
            )
        self.persons_per_batch = persons_per_batch
        self.seed = seed
        self.cross_camera = camids is not None
        # Positions (into the person's image list) grouped by camera, cameras in ascending
        # order; one group of all images when cameras are not used.
        self._groups: dict[int, list[list[int]]] = {}
        for p in self._pids:
            if camids is None:
                self._groups[p] = [list(range(len(self._images[p])))]
                continue
            by_camera: dict[int, list[int]] = {}
            for position, index in enumerate(self._images[p]):
                by_camera.setdefault(int(camids[index]), []).append(position)
            self._groups[p] = [by_camera[c] for c in sorted(by_camera)]
        total = sum(len(v) for v in self._images.values())
        self.batches_per_epoch = (
            batches_per_epoch if batches_per_epoch is not None else math.ceil(total / batch_size)
        )
        self.epoch = 0
        # Batches already yielded in the current epoch (0 at an epoch boundary).
        self._batch = 0
        self._rng = np.random.default_rng([seed, 0])
        # The current pass through the persons, and how far it has got.
        self._order: list[int] = []
        self._pos = 0

    def __len__(self) -> int:
        return self.batches_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws the next pass uses (seeded from seed, epoch)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        if epoch != self.epoch:
            self.epoch = epoch
            self._batch = 0  # a partly yielded epoch is abandoned

    def __iter__(self) -> Iterator[list[int]]:
        if self._batch == 0:
            self._rng = np.random.default_rng([self.seed, self.epoch])
        while self._batch < self.batches_per_epoch:
            batch = self._make_batch(self._next_persons())
            self._batch += 1
            yield batch
        self._batch = 0
        self.epoch += 1

    def _next_persons(self) -> list[int]:
        """The next persons_per_batch distinct persons of the shuffled person cycle."""
        chosen: list[int] = []
        while len(chosen) < self.persons_per_batch:
            if self._pos >= len(self._order):
                order = [self._pids[i] for i in self._rng.permutation(len(self._pids))]
                # Persons already in this batch go to the back of the new pass, so a batch
                # never holds a person twice and every pass still visits each person once.
                taken = set(chosen)
                self._order = [p for p in order if p not in taken] + [
                    p for p in order if p in taken
                ]
                self._pos = 0
            chosen.append(self._order[self._pos])
            self._pos += 1
        return chosen

    def _make_batch(self, persons: list[int]) -> list[int]:
        raise NotImplementedError

    def _settings(self) -> dict[str, int]:
        """The constructor settings a saved state must agree with."""
        return {
            "seed": self.seed,
            "persons_per_batch": self.persons_per_batch,
            "batches_per_epoch": self.batches_per_epoch,
            "cross_camera": int(self.cross_camera),
        }

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this sampler stands; JSON-serialisable."""
        return {
            "version": _STATE_VERSION,
            "kind": self.kind,
            "seed": self.seed,
            "epoch": self.epoch,
            "batch": self._batch,
            "settings": self._settings(),
            "persons": [[p, len(self._images[p])] for p in self._pids],
            "rng": _jsonable(self._rng.bit_generator.state),
            "order": list(self._order),
            "pos": self._pos,
            **self._extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`, also after a JSON round trip."""
        if state.get("version") != _STATE_VERSION or state.get("kind") != self.kind:
            raise ConfigError(
                f"{self.kind}: sampler state is of kind {state.get('kind')!r} version "
                f"{state.get('version')!r}; it was not saved by this sampler"
            )
        persons = [[int(p), int(n)] for p, n in state["persons"]]
        if persons != [[p, len(self._images[p])] for p in self._pids]:
            raise ConfigError(
                f"{self.kind}: the saved sampler state belongs to a different training set; "
                "resume with the same dataset and split"
            )
        saved = {str(k): int(v) for k, v in state["settings"].items()}
        if saved != self._settings():
            raise ConfigError(
                f"{self.kind}: the saved sampler state has settings {saved} but this sampler "
                f"has {self._settings()}; resume with the same settings"
            )
        self.epoch = int(state["epoch"])
        self._batch = int(state["batch"])
        bit_generator = np.random.PCG64()
        bit_generator.state = state["rng"]
        self._rng = np.random.Generator(bit_generator)
        self._order = [int(p) for p in state["order"]]
        self._pos = int(state["pos"])
        self._load_extra_state(state)


def _jsonable(value: Any) -> Any:
    """A copy of ``value`` built from plain dicts, lists, ints, floats and strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class PersonRoundRobinSampler(_PersonBatchSampler):
    """Stage 1: each batch holds ``persons_per_batch`` distinct persons with one image each.

    Persons come in a shuffled order that is reshuffled after every full pass. Each person's
    images are drawn in turn from a shuffled cycle whose cursor persists across batches and
    epochs, so all images of a person are used before any is used again. With ``camids`` (the
    camera of every sample) the person's cameras take turns, each with its own cycle: the
    "cross-camera image set" the paper draws from. An epoch has ``ceil(total images /
    persons_per_batch)`` batches unless ``batches_per_epoch`` is given, so it sees about as many
    images as the training set holds.
    """

    kind = "PersonRoundRobinSampler"

    def __init__(
        self,
        person_index: dict[int, list[int]],
        persons_per_batch: int = 8,
        batches_per_epoch: int | None = None,
        seed: int = 0,
        camids: Sequence[int] | None = None,
    ) -> None:
        super().__init__(
            person_index, persons_per_batch, persons_per_batch, batches_per_epoch, seed, camids
        )
        # Per person and camera group: a permutation of the group, and the next place in it;
        # per person: the group whose turn it is.
        self._cycles: dict[int, list[list[int]]] = {
            p: [[] for _ in self._groups[p]] for p in self._pids
        }
        self._cursors: dict[int, list[int]] = {p: [0] * len(self._groups[p]) for p in self._pids}
        self._turns: dict[int, int] = {p: 0 for p in self._pids}

    def _make_batch(self, persons: list[int]) -> list[int]:
        batch = []
        for p in persons:
            g = self._turns[p] % len(self._groups[p])
            group = self._groups[p][g]
            if self._cursors[p][g] >= len(self._cycles[p][g]):
                self._cycles[p][g] = [group[int(i)] for i in self._rng.permutation(len(group))]
                self._cursors[p][g] = 0
            batch.append(self._images[p][self._cycles[p][g][self._cursors[p][g]]])
            self._cursors[p][g] += 1
            self._turns[p] += 1
        return batch

    def _extra_state(self) -> dict[str, Any]:
        return {
            "cycles": [[p, self._turns[p], self._cycles[p], self._cursors[p]] for p in self._pids]
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        for p, turn, cycles, cursors in state["cycles"]:
            self._turns[int(p)] = int(turn)
            self._cycles[int(p)] = [[int(i) for i in cycle] for cycle in cycles]
            self._cursors[int(p)] = [int(c) for c in cursors]


class PKSampler(_PersonBatchSampler):
    """Stage 2: each batch holds M distinct persons x K images, grouped by person.

    ``batch[i*K:(i+1)*K]`` are the images of the i-th person, the layout eq. (4) relies on.
    The K images are drawn without replacement when the person has at least K, else every
    image once plus random repeats. With ``camids`` and a person seen by several cameras, the K
    images are spread over its cameras as evenly as their images allow ("K randomly selected
    images for each person from cross-camera image sets"). Persons come from a shuffled cycle
    through all persons. An epoch has ``ceil(total images / (M*K))`` batches unless
    ``batches_per_epoch`` is given.
    """

    kind = "PKSampler"

    def __init__(
        self,
        person_index: dict[int, list[int]],
        persons_per_batch: int = 8,
        images_per_person: int = 16,
        batches_per_epoch: int | None = None,
        seed: int = 0,
        camids: Sequence[int] | None = None,
    ) -> None:
        _check_positive("persons_per_batch", persons_per_batch)
        _check_positive("images_per_person", images_per_person)
        self.images_per_person = images_per_person
        super().__init__(
            person_index,
            persons_per_batch,
            persons_per_batch * images_per_person,
            batches_per_epoch,
            seed,
            camids,
        )

    def _make_batch(self, persons: list[int]) -> list[int]:
        k = self.images_per_person
        batch: list[int] = []
        for p in persons:
            images = self._images[p]
            groups = self._groups[p]
            if len(groups) > 1:
                picks = self._cross_camera_picks(groups, k)
            elif len(images) >= k:
                picks = self._rng.choice(len(images), size=k, replace=False)
            else:
                extra = self._rng.choice(len(images), size=k - len(images), replace=True)
                picks = self._rng.permutation(np.concatenate([np.arange(len(images)), extra]))
            batch.extend(images[int(i)] for i in picks)
        return batch

    def _cross_camera_picks(self, groups: list[list[int]], k: int) -> np.ndarray:
        """K positions spread over the person's cameras: one camera at a time, in a random
        order, each giving images it has not given yet; random repeats only once every image
        of the person is in."""
        quota = [0] * len(groups)
        order = self._rng.permutation(len(groups))
        left = k
        while left and any(q < len(g) for q, g in zip(quota, groups, strict=True)):
            for c in order:
                if left and quota[c] < len(groups[c]):
                    quota[c] += 1
                    left -= 1
        picks = [
            int(i)
            for group, q in zip(groups, quota, strict=True)
            for i in self._rng.choice(group, size=q, replace=False)
        ]
        if left:
            every = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups])
            picks += [int(i) for i in self._rng.choice(every, size=left, replace=True)]
        return self._rng.permutation(np.asarray(picks, dtype=np.int64))

    def _settings(self) -> dict[str, int]:
        return {**super()._settings(), "images_per_person": self.images_per_person}
