"""The choices of how a job runs, as opposed to what it computes; importable without torch.

They never enter a model's settings or a checkpoint's fingerprint, and the workflow passes them
outside the rules' params, so changing them reruns nothing (``mgat.engine.device`` applies
them).
"""

from __future__ import annotations

import argparse

#: Memory layouts of the model and its input batches.
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
#: How the trunk runs: eagerly, or compiled by ``torch.compile`` (CUDA only).
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")


def add_runtime_options(parser: argparse.ArgumentParser) -> None:
    """``--memory-format`` and ``--compile``, as ``mgat train`` and the benchmarks take them."""
    parser.add_argument(
        "--memory-format",
        choices=MEMORY_FORMATS,
        default="auto",
        help="auto: channels_last on CUDA, contiguous on the CPU (train.memory_format)",
    )
    parser.add_argument(
        "--compile",
        choices=COMPILE_MODES,
        default="none",
        help="torch.compile the trunk on CUDA; reduce-overhead: CUDA graphs (train.compile)",
    )
