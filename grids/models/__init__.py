"""The grids models, one module per subject; import them from here."""

from grids.models.events import GridEvent, GridEventPhoto, GridEventStep
from grids.models.grids import BuildingHead, Grid, GridAssignment, GridBuilding, GridWorker
from grids.models.hazards import Hazard, HazardEvidence, HazardStep
from grids.models.households import CARE_LABELS, CareTag, Household, Visit

__all__ = [
    "CARE_LABELS",
    "BuildingHead",
    "CareTag",
    "Grid",
    "GridAssignment",
    "GridBuilding",
    "GridEvent",
    "GridEventPhoto",
    "GridEventStep",
    "GridWorker",
    "Hazard",
    "HazardEvidence",
    "HazardStep",
    "Household",
    "Visit",
]
