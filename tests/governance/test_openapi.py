"""The OpenAPI schema matches the answers: every status an endpoint gives is documented for it,
and the body validates against the schema documented for that status (scripts/api-fuzz.sh
checks the same against a live server with generated requests)."""

import re
from datetime import date

import jsonschema
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from branches.services import workflow
from branches.services.criteria import criteria_defaults_load

SCHEMA_URL = reverse("api-schema")
MARCH = date(2026, 3, 1)


pytestmark = pytest.mark.usefixtures("april_third")


@pytest.fixture
def schema(personas, login):
    return login(personas.admin).get(SCHEMA_URL, {"format": "json"}).json()


@pytest.fixture
def report(tree, db):
    criteria_defaults_load(year=2026)
    return workflow.report_get_or_create(unit=tree.village_a1, period=MARCH)


@pytest.fixture
def staff_api(personas):
    api = APIClient()
    api.force_authenticate(personas.staff_a)
    return api


def as_json_schema(node, components):
    """An OpenAPI 3.0 schema as plain JSON Schema: references inlined, `nullable` as a type."""
    if isinstance(node, list):
        return [as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {
        key: as_json_schema(value, components) for key, value in node.items() if key != "nullable"
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def operation_for(schema, method, url):
    """The documented operation whose path template matches the URL."""
    for template, operations in schema["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        # A fixed path (/notifications/read-all/) also matches a template ({id}/): skip
        # the templates that lack the method.
        if re.match(pattern, url.split("?")[0]) and method.lower() in operations:
            return operations[method.lower()]
    raise AssertionError(f"no documented path matches {url}")


def assert_documented(schema, response):
    request = response.wsgi_request
    operation = operation_for(schema, request.method, request.get_full_path())
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{request.method} {request.path} answered {status}, "
        f"documented: {sorted(operation['responses'])}; body: {response.content[:300]!r}"
    )
    content = operation["responses"][status].get("content")
    if content is None:
        return
    assert response["Content-Type"].split(";")[0] in content
    documented = as_json_schema(
        content["application/json"]["schema"], schema["components"]["schemas"]
    )
    jsonschema.validate(response.json(), documented)


class TestTheSchemaDocumentsErrors:
    def test_every_operation_that_needs_a_login_documents_401_and_403(self, schema):
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if {} in operation.get("security", [{}]):
                    continue
                assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"

    def test_every_operation_with_parameters_or_a_body_documents_400(self, schema):
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if operation.get("parameters") or operation.get("requestBody"):
                    assert "400" in operation["responses"], f"{method} {path}"

    def test_operations_on_one_object_and_lists_document_404(self, schema):
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                names = {p["name"] for p in operation.get("parameters", [])}
                if "{" in path or "page" in names:
                    assert "404" in operation["responses"], f"{method} {path}"

    def test_the_report_writes_document_409(self, schema):
        paths = schema["paths"]
        assert "409" in paths["/api/v1/reports/{id}/"]["patch"]["responses"]
        for step in ("submit", "approve", "return", "unlock"):
            assert "409" in paths[f"/api/v1/reports/{{id}}/{step}/"]["post"]["responses"]

    def test_the_token_endpoint_documents_429_with_its_reason(self, schema):
        locked = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["429"]

        assert locked["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Detail"
        }

    def test_a_400_body_names_the_request_fields_and_nothing_else(self, schema):
        body = schema["components"]["schemas"]["V1ReportsCreateError"]

        assert set(body["properties"]) == {"unit", "period", "non_field_errors", "detail"}
        assert body["additionalProperties"] is False


class TestAnswersMatchTheSchema:
    def test_anonymous_calls_to_every_operation_answer_as_documented(self, schema, tree, db):
        anonymous = APIClient()
        for path, operations in schema["paths"].items():
            url = re.sub(r"\{[^}]+\}", "1", path)
            for method, operation in operations.items():
                if {} in operation.get("security", [{}]):
                    continue
                response = getattr(anonymous, method)(url, {}, format="json")
                assert response.status_code in (401, 403), f"{method} {path}"
                assert_documented(schema, response)

    def test_units_above_the_village_with_a_blank_area_type_match(self, schema, staff_api, tree):
        response = staff_api.get(reverse("unit-list"))

        assert "" in {unit["area_type"] for unit in response.json()["results"]}
        assert_documented(schema, response)

    @pytest.mark.parametrize(
        ("method", "url", "data", "status"),
        [
            ("post", "/api/v1/auth/token/", {}, 400),
            ("post", "/api/v1/auth/token/", {"username": "staff_a", "password": "wrong"}, 400),
            ("post", "/api/v1/reports/", {}, 400),
            ("post", "/api/v1/reports/", {"unit": "410102001001", "period": "2026/03"}, 400),
            ("post", "/api/v1/reports/", {"unit": "410102002001", "period": "2026-03"}, 400),
            ("post", "/api/v1/reports/", {"unit": "410102001001", "period": "2027-03"}, 400),
            ("patch", "REPORT", {"version": 1, "values": {}}, 400),
            ("patch", "REPORT", {"version": 1, "values": {"NO-SUCH": {"value": 1}}}, 400),
            ("patch", "REPORT", {"version": 1, "values": {"BR-01": "three"}}, 400),
            ("patch", "REPORT", {"version": 99, "values": {"BR-01": {"value": True}}}, 409),
            ("post", "REPORT/submit/", {}, 400),
            ("post", "REPORT/submit/", {"version": 1}, 400),
            ("post", "REPORT/approve/", {"version": 1}, 400),
            ("post", "REPORT/return/", {"version": 1, "reason": ""}, 400),
            ("get", "/api/v1/reports/999999/", None, 404),
            ("get", "/api/v1/units/0/", None, 404),
            ("get", "/api/v1/units/?page=999", None, 404),
            ("get", "/api/v1/units/?level=9", None, 400),
            ("get", "/api/v1/ratings/?include=everything", None, 400),
            ("get", "/api/v1/reports/?period=March", None, 400),
            ("get", "/api/v1/criteria-sets/?year=1900", None, 400),
        ],
    )
    def test_errors_answer_the_documented_status_and_body(
        self, schema, staff_api, personas, report, method, url, data, status
    ):
        url = url.replace("REPORT", f"/api/v1/reports/{report.pk}/").replace("//", "/")
        if url.startswith("/api/v1/auth/"):
            staff_api.force_authenticate(None)
        response = getattr(staff_api, method)(url, data, format="json")

        assert response.status_code == status, response.content
        assert_documented(schema, response)

    def test_a_body_in_an_unsupported_type_answers_the_documented_415(self, schema, db):
        response = APIClient().post("/api/v1/auth/token/", "username=x", content_type="text/plain")

        assert response.status_code == 415
        assert_documented(schema, response)

    def test_a_read_only_role_refused_a_write_gets_the_documented_403(
        self, schema, personas, report
    ):
        api = APIClient()
        api.force_authenticate(personas.auditor)
        response = api.post(f"/api/v1/reports/{report.pk}/approve/", {"version": 1}, format="json")

        assert response.status_code == 403
        assert_documented(schema, response)

    def test_a_method_an_endpoint_lacks_answers_405(self, staff_api, report):
        assert staff_api.put(f"/api/v1/reports/{report.pk}/", {}, format="json").status_code == 405
        assert staff_api.delete("/api/v1/units/41/").status_code == 405
        assert APIClient().get("/api/v1/auth/token/").status_code == 405
