"""Fields, filters and error bodies shared by the criteria, report and rating endpoints."""

from contextlib import contextmanager

from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings

from branches.api.units import UnitCodeFilter
from branches.services import workflow

PERIOD_SCHEMA = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}$",
    "example": "2026-03",
}


def plain_number(value):
    """A stored Decimal as a JSON number: 3 rather than "3.0000"."""
    return int(value) if value == value.to_integral_value() else float(value)


@extend_schema_field({**PERIOD_SCHEMA, "description": _("月份，格式 YYYY-MM")})
class PeriodField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return value.strftime("%Y-%m")


@extend_schema_field({"type": "number", "nullable": True})
class NumberField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return plain_number(value)


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "number"}],
        "nullable": True,
        "description": _("是/否指标为 true/false，数值指标为数字，未填为 null"),
    }
)
class EnteredValueField(serializers.ReadOnlyField):
    def to_representation(self, value):
        return value if isinstance(value, bool) else plain_number(value)


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "number"}, {"type": "string"}],
        "nullable": True,
        "description": _(
            "填报值：是/否指标填 true/false 或“是”“否”；数值指标填数字或数字字符串"
            "（可带千分位逗号，百分比可带 %）；null 或空字符串表示清空"
        ),
    }
)
class RawValueField(serializers.JSONField):
    """Whatever the caller typed; `workflow.parse_value` judges it against the criterion."""


class PeriodFormField(forms.Field):
    def to_python(self, value):
        if value in self.empty_values:
            return None
        return workflow.parse_period(str(value).strip())


@extend_schema_field({**PERIOD_SCHEMA, "description": _("月份，格式 YYYY-MM，如 2026-03")})
class PeriodFilter(filters.Filter):
    field_class = PeriodFormField


def unit_code_filter(description, **kwargs):
    return extend_schema_field({"type": "string", "description": description})(
        UnitCodeFilter(**kwargs)
    )


class ServiceErrorSerializer(serializers.Serializer):
    """Service refusals only: a whole 400 body is documented by governance.openapi."""

    non_field_errors = serializers.ListField(
        child=serializers.CharField(), help_text=_("错误说明，每条说明一个问题及改正方法")
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("冲突说明：谁在何时修改了报表"))
    version = serializers.IntegerField(help_text=_("报表当前版本号；请重新读取报表后再提交修改"))


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("原因说明"))


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, error: workflow.ConflictError):
        super().__init__(str(error))
        # The current version is a number to reload with, not an error text: set it after
        # APIException has turned the detail into error strings.
        self.detail = {"detail": self.detail, "version": error.report.version}


@contextmanager
def service_errors():
    """Service refusals as API answers: validation 400, conflict 409 (permission 403 is DRF's)."""
    try:
        yield
    except workflow.ConflictError as error:
        raise Conflict(error) from None
    except DjangoValidationError as error:
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from None


# Criteria sets ---------------------------------------------------------------------------
