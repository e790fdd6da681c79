"""The frame around every workflow job: logging into the rule's log, one-line user errors."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mgat.errors import MgatError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send the package's log records to ``log_file`` (or stderr) with timestamps."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, mode="w")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


@contextmanager
def job(log_file: str | Path | None) -> Iterator[None]:
    """Run a workflow step: log records and progress bars go to ``log_file``; a user error
    becomes one line (in the log and on stderr) and exit status 1.

    Progress bars (tqdm) write to ``sys.stderr``, which is redirected into the log for the
    duration of the job, so a terminal running many jobs stays readable.
    """
    configure_logging(log_file)
    stream = open(log_file, "a", buffering=1) if log_file is not None else sys.stderr  # noqa: SIM115
    real_stderr = sys.stderr
    try:
        with contextlib.redirect_stderr(stream):
            yield
    except MgatError as err:
        logging.getLogger("mgat").error("%s", err)
        print(f"mgat: error: {err}", file=real_stderr)
        raise SystemExit(1) from None
    finally:
        if stream is not real_stderr:
            stream.close()


def recorded_threads(recorded: int, granted: int) -> int:
    """The CPU threads a training job uses: the config's ``train.threads`` (recorded with the
    model, and changing the weights on the CPU), not the cores Snakemake granted, which
    ``--cores`` caps; so ``--cores 1`` and ``--cores 8`` train the same weights."""
    if granted < recorded:
        logging.getLogger("mgat").warning(
            "Snakemake granted this job %d core(s) (--cores) but train.threads is %d: it runs "
            "%d threads as recorded, sharing the cores (give --cores %d to avoid it)",
            granted,
            recorded,
            recorded,
            recorded,
        )
    return recorded
