"""Helpers that build cases through the services."""

from datetime import date

from disputes import services
from disputes.models import DisputeCase


def make_case(user, unit, *, received_on=None, category="NEIGHBOUR", risk="LOW", **extra):
    return services.case_create(
        user=user,
        unit=unit,
        category=category,
        source=extra.pop("source", DisputeCase.Source.GRID),
        summary=extra.pop("summary", "邻居因漏水发生争执"),
        received_on=received_on or date(2026, 4, 1),
        risk=risk,
        parties=extra.pop(
            "parties",
            [
                {"name": "张三", "role": "APPLICANT", "phone": "13812345678"},
                {"name": "李四", "role": "RESPONDENT", "phone": ""},
            ],
        ),
        **extra,
    )
