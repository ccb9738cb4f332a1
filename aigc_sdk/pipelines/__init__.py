"""Pipelines: typed steps (plain functions whose signatures are the DAG) with a stage cache, and jobs on them.

Example:
    >>> from aigc_sdk.pipelines import Pipeline, Step, step
    >>> Pipeline.__name__, Step.__name__, step.__name__
    ('Pipeline', 'Step', 'step')
"""

from aigc_sdk.pipelines.base import Pipeline, PipelineEvent, PipelineRun, Step, StepContext, step
from aigc_sdk.pipelines.progress import tqdm_progress
from aigc_sdk.pipelines.timeline import Timeline, TimelineSegment, Visual

__all__ = [
    "Pipeline",
    "PipelineEvent",
    "PipelineRun",
    "Step",
    "StepContext",
    "Timeline",
    "TimelineSegment",
    "Visual",
    "step",
    "tqdm_progress",
]
