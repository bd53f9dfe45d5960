"""The volunteers models, one module per subject; import them from here."""

from volunteers.models.activities import (
    HOURS_MAX,
    PEOPLE_SERVED_MAX,
    Activity,
    ActivityPhoto,
    Attendance,
    YearHours,
)
from volunteers.models.orders import ServiceOrder, ServiceOrderStep
from volunteers.models.points import Merchant, PointsBalance, PointsEntry
from volunteers.models.teams import Membership, Team, Volunteer, mask_name, mask_phone

__all__ = [
    "HOURS_MAX",
    "PEOPLE_SERVED_MAX",
    "Activity",
    "ActivityPhoto",
    "Attendance",
    "Membership",
    "Merchant",
    "PointsBalance",
    "PointsEntry",
    "ServiceOrder",
    "ServiceOrderStep",
    "Team",
    "Volunteer",
    "YearHours",
    "mask_name",
    "mask_phone",
]
