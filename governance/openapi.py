"""The API schema's error answers, documented from what DRF and the services really return.

drf-spectacular documents the success bodies; this schema class adds the errors every operation
can answer, unless the operation declares that status with a body of its own:

- 400 for an operation with a request body or parameters: an object keyed by the request's
  field names (or filter names), each with a list of messages; `non_field_errors` for the
  service refusals; `detail` for a request refused whole (a body that does not parse, control
  characters in the URL).
- 401 and 403 for an operation that needs a login: `{"detail": "..."}`.
- 404 for an operation on one object (path parameters) or a paginated list (a page past the
  end): `{"detail": "..."}`.
- 415 for an operation with a request body sent in a type it does not parse.

A read-only choice field over a model field that may be blank documents "" among its values:
DRF drops `allow_blank` from read-only model fields, and the schema lost it with it (`area_type`
above the village level, `party_org_kind` of a unit without a party organisation).

A declared status without a body (`OpenApiResponse(description=...)`) keeps its description
and gets the body documented here. Methods a path lacks answer 405; OpenAPI has no place for
an operation that does not exist, so the schemathesis stage checks those (unsupported_method).
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance, is_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

MESSAGES = {"type": "array", "items": {"type": "string"}}
# A composite field (a dict of values, a nested serializer) reports its errors per key, one
# level down: {"values": {"BR-03": ["..."]}} or {"values": {"BR-03": {"value": ["..."]}}}.
NESTED_MESSAGES = {
    "anyOf": [
        MESSAGES,
        {
            "type": "object",
            "additionalProperties": {
                "anyOf": [MESSAGES, {"type": "object", "additionalProperties": MESSAGES}]
            },
        },
    ]
}
COMPOSITE_FIELDS = (
    serializers.BaseSerializer,
    serializers.ListField,
    serializers.DictField,
    serializers.HStoreField,
)

DESCRIPTIONS = {
    "400": _("请求无效：按字段（或筛选参数）逐项说明错误及改正方法"),
    "401": _("未登录：缺少或带了无效的访问令牌"),
    "403": _("您的角色不能执行该操作"),
    "404": _("对象不存在或不在您的管辖范围内；列表中页码超出范围"),
    "415": _("请求体的类型不受支持：请按本接口列出的类型发送，如 application/json"),
}


def camel(operation_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in operation_id.split("_"))


def model_field_is_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in field.source:
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False


class PortalAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and model_field_is_blank(field)
        ):
            field = copy.copy(field)
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, schema in self._error_schemas().items():
            documented = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
            if "content" not in documented:
                documented["content"] = {"application/json": {"schema": schema}}
        return responses

    def _error_schemas(self) -> dict:
        # Imported here: the API modules decorate their views with this schema class on import.
        from branches.api.fields import DetailSerializer

        errors = {}
        detail = self.resolve_serializer(DetailSerializer(), "response").ref
        bad_request = self._validation_error_schema()
        if bad_request:
            errors["400"] = bad_request
        auth = self.get_auth()
        if auth and {} not in auth:
            errors["401"] = errors["403"] = detail
        is_paginated_list = self._is_list_view() and self._get_paginator() is not None
        if self._path_parameter_names() or is_paginated_list:
            errors["404"] = detail
        if self._has_request_body():
            errors["415"] = detail
        return errors

    def _has_request_body(self) -> bool:
        return self.method in ("PUT", "PATCH", "POST") and bool(self.get_request_serializer())

    def _path_parameter_names(self) -> list[str]:
        return [p["name"] for p in self._get_parameters() if p["in"] == "path"]

    def _validation_error_schema(self):
        """The 400 body: the request's fields or the list's filters, and `detail`."""
        parameters = self._get_parameters()
        has_body = self._has_request_body()
        if (
            not parameters
            and not has_body
            and self.method not in ("POST", "PUT", "PATCH", "DELETE")
        ):
            return None
        properties = {}
        # A body described by a plain schema rather than a serializer: its field names are not
        # known here, so any key may carry messages.
        other_keys = False
        if has_body:
            serializer = force_instance(self.get_request_serializer())
            other_keys = not is_serializer(serializer)
            if not other_keys:
                for name, field in serializer.fields.items():
                    if not field.read_only:
                        nested = isinstance(field, COMPOSITE_FIELDS)
                        properties[name] = NESTED_MESSAGES if nested else MESSAGES
            properties[api_settings.NON_FIELD_ERRORS_KEY] = MESSAGES
        else:
            # An out-of-range page is a 404, a bad page size falls back to the default.
            paginator = self._get_paginator()
            paging = (
                {p["name"] for p in paginator.get_schema_operation_parameters(self.view)}
                if paginator and self._is_list_view()
                else set()
            )
            for parameter in parameters:
                if parameter["in"] == "query" and parameter["name"] not in paging:
                    properties[parameter["name"]] = MESSAGES
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            # A write without a body (a delete, an action) can still be refused by a service.
            properties[api_settings.NON_FIELD_ERRORS_KEY] = MESSAGES
        properties["detail"] = {
            "type": "string",
            "description": _("请求无法处理：请求体不是合法的 JSON，或网址、参数中含控制字符"),
        }
        component = ResolvedComponent(
            name=f"{camel(self.get_operation_id())}Error",
            type=ResolvedComponent.SCHEMA,
            object=f"{self.method} {self.path} error",
            schema={
                "type": "object",
                "description": _("错误说明：键为出错的字段或参数，值为说明及改正方法"),
                "properties": properties,
                "additionalProperties": NESTED_MESSAGES if other_keys else False,
                "minProperties": 1,
            },
        )
        self.registry.register_on_missing(component)
        return component.ref
