"""The committed openapi.json is what the app serves; errors are documented as problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.app import create_app
from service.cli import main

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app().openapi()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_committed_schema_equals_the_served_one(schema: dict[str, Any]) -> None:
    expected = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    assert COMMITTED.read_text(encoding="utf-8") == expected, (
        "openapi.json is stale: regenerate it with `rnnlab openapi --output openapi.json`"
    )


def test_rnnlab_openapi_writes_the_schema(tmp_path: Path, schema: dict[str, Any]) -> None:
    output = tmp_path / "openapi.json"
    assert main(["openapi", "--output", str(output)]) == 0
    assert json.loads(output.read_text(encoding="utf-8")) == schema


def test_the_contract_paths_are_served(schema: dict[str, Any]) -> None:
    for path, method in [
        ("/health", "get"),
        ("/ready", "get"),
        ("/datasets", "post"),
        ("/datasets", "get"),
        ("/datasets/{dataset_id}", "get"),
        ("/loss", "post"),
        ("/gradient", "post"),
        ("/gradient-check", "post"),
        ("/loss-surface", "get"),
        ("/gradient-over-time", "get"),
        ("/predict", "post"),
    ]:
        assert method in schema["paths"][path], (method, path)


def test_every_error_response_is_a_problem(schema: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(schema)
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, (method, path, status)


def test_protected_operations_declare_an_optional_bearer_token(schema: dict[str, Any]) -> None:
    """Optional: ``{}`` first, so that generated clients need no token for a server without."""
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, method, operation in _operations(schema):
        if path in {"/health", "/ready"}:
            assert "security" not in operation
        else:
            assert operation["security"] == [{}, {"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"]


def test_loss_surface_documents_its_formats(schema: dict[str, Any]) -> None:
    content = schema["paths"]["/loss-surface"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/x-npy", "text/csv"}
    assert content["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LossSurfaceResponse"
    }


def test_schemas_are_described_for_the_docs(schema: dict[str, Any]) -> None:
    for name in ("Weights", "DatasetSpec", "DatasetData", "LossRequest", "PredictRequest"):
        model = schema["components"]["schemas"][name]
        assert model.get("description"), name
        assert model.get("examples"), name
    spec = schema["components"]["schemas"]["DatasetSpec"]["properties"]
    assert all(field.get("description") for field in spec.values())
    weights = schema["components"]["schemas"]["Weights"]
    assert weights["additionalProperties"] is False


def test_query_parameters_are_never_nullable(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            assert "anyOf" not in parameter["schema"], (method, path, parameter["name"])
