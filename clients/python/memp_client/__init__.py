"""Python client of the Memp memory service (`memp serve`), standard library only.

    from memp_client import MempClient
    memp = MempClient("http://127.0.0.1:8765")
    for hit in memp.lookup("heat some milk", k=3):
        print(hit.id, hit.script or hit.steps)
    memp.record_outcome([hit.id], success=True)
"""
from .client import (
    FeedbackChange,
    Hit,
    ImportReport,
    MempClient,
    MempError,
    MempWarning,
    Outcome,
    Step,
    UpdateReport,
)

__all__ = [
    "FeedbackChange",
    "Hit",
    "ImportReport",
    "MempClient",
    "MempError",
    "MempWarning",
    "Outcome",
    "Step",
    "UpdateReport",
]
