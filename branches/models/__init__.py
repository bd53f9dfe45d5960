"""The branches models, one module per subject; import them from here."""

from branches.models.assessments import (
    BranchRating,
    Rating,
    StarAssessment,
    assessment_paths_refresh,
)
from branches.models.assignments import AssignmentVisit, LeaderAssignment, Pairing
from branches.models.criteria import CriteriaSet, Criterion
from branches.models.exports import ExportLog, ExportLogQuerySet
from branches.models.rectification import (
    Rectification,
    RectificationEvent,
    RectificationEvidence,
    RectificationQuerySet,
)
from branches.models.reports import (
    Evidence,
    MonthlyReport,
    MonthlyReportQuerySet,
    ReportEvent,
    ReportEventQuerySet,
    ReportValue,
    UnitScopedQuerySet,
    evidence_upload_to,
)
from branches.models.rollups import RatingRollup
from branches.models.runs import RecomputeChunk, RecomputeRun
from branches.models.units import OrgUnit, OrgUnitManager, OrgUnitQuerySet, jurisdiction_path

__all__ = [
    "AssignmentVisit",
    "BranchRating",
    "CriteriaSet",
    "Criterion",
    "Evidence",
    "ExportLog",
    "ExportLogQuerySet",
    "LeaderAssignment",
    "MonthlyReport",
    "MonthlyReportQuerySet",
    "OrgUnit",
    "OrgUnitManager",
    "OrgUnitQuerySet",
    "Pairing",
    "Rating",
    "RatingRollup",
    "RecomputeChunk",
    "RecomputeRun",
    "Rectification",
    "RectificationEvent",
    "RectificationEvidence",
    "RectificationQuerySet",
    "ReportEvent",
    "ReportEventQuerySet",
    "ReportValue",
    "StarAssessment",
    "UnitScopedQuerySet",
    "assessment_paths_refresh",
    "evidence_upload_to",
    "jurisdiction_path",
]
