"""User-facing errors: one line that says what is wrong and what to do.

Library code raises these for bad input (missing data, wrong layout, invalid arguments); the
command line and the workflow scripts turn them into a single error line and a non-zero exit,
while genuine bugs still surface with a traceback.
"""

from __future__ import annotations


class MgatError(Exception):
    """An error caused by the user's input or environment, reported as one line."""

    def __str__(self) -> str:
        text = super().__str__()
        if text.startswith("Caught ") and "Original Traceback" in text:
            # Re-raised by a DataLoader from a worker process: the message is the traceback's
            # last line ("mgat.errors.DataError: <message>"), as it reads without workers.
            _, sep, message = text.rstrip().splitlines()[-1].partition(": ")
            text = message if sep else text
        # Keep the message to one line whatever the caller passed in.
        return " ".join(text.split())


class DataError(MgatError):
    """A dataset is missing, incomplete, corrupt or laid out differently than expected."""


class ConfigError(MgatError):
    """A setting or argument has a value that cannot be used."""


class OutputError(MgatError):
    """An output cannot be written (no space, no permission, a file where a folder must be)."""
