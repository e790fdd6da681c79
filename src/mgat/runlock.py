"""One Snakemake run per results folder: a second one, from another checkout or with another
config, would overwrite the first one's files while it runs. Importable without torch.

Snakemake's own lock guards a working directory, not the folder the config's ``results:``
names, which two checkouts (or two configs of one) may share. The lock here is an ``flock`` on a
file in that folder, held by the Snakemake process for as long as it runs and released by the
kernel however it ends, so a killed run never leaves the folder locked.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import socket
from pathlib import Path
from typing import IO

#: The lock file inside the results folder.
LOCK_NAME = ".mgat-run.lock"

_held: list[IO[str]] = []  # open for the life of the process: closing releases


class ResultsInUse(RuntimeError):
    """Another run holds the results folder."""


def hold_results_folder(results: str | Path, checkout: str | Path) -> None:
    """Take the results folder for this process, or raise :class:`ResultsInUse` with one line
    that names the run holding it and what to do."""
    folder = Path(results)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+")  # noqa: SIM115  # held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = " ".join(handle.read().split()) or "another process"
        handle.close()
        raise ResultsInUse(
            f"results folder {folder} is in use by another Snakemake run ({holder}); wait for "
            "it to end, or set results: to another folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    handle.write(
        f"pid {os.getpid()} on {socket.gethostname()}, checkout {checkout}, since {started}\n"
    )
    handle.flush()
    _held.append(handle)
