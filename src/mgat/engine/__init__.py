"""Training: one loop (checkpoint, resume, logging) and the steps the three stages plug into it."""

from mgat.engine.loop import TrainingError, train_loop
from mgat.engine.settings import StageSettings
from mgat.engine.stages import train_stage

__all__ = ["StageSettings", "TrainingError", "train_loop", "train_stage"]
