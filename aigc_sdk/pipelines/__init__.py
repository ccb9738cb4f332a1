"""Pipelines: typed steps composed into a DAG with a stage cache, and the jobs built on them.

Example:
    >>> from aigc_sdk.pipelines import Pipeline, Step
    >>> Pipeline.__name__, Step.__name__
    ('Pipeline', 'Step')
"""

from aigc_sdk.pipelines.base import Pipeline, PipelineEvent, PipelineRun, Step, StepContext
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
    "tqdm_progress",
]
