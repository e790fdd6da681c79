"""The choices of how a job runs, as opposed to what it computes; importable without torch.

They never enter a model's settings or a checkpoint's fingerprint, and the workflow passes them
outside the rules' params, so changing them reruns nothing (``mgat.engine.device`` applies
them).
"""

from __future__ import annotations

#: Memory layouts of the model and its input batches.
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
#: How the trunk runs: eagerly, or compiled by ``torch.compile`` (CUDA only).
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")
