"""The OpenAPI document: what the app serves, committed, and complete enough to generate from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from service.analysis.schemas import LossRequest
from service.app import create_app
from service.cli import main
from service.config import Settings
from service.datasets.schemas import DatasetSpec
from service.jobs.schemas import TrainRequest
from service.predict.schemas import PredictRequest

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


def test_the_bearer_token_is_declared_where_the_server_wants_one(schema: dict[str, Any]) -> None:
    """A server without a token declares no security (generated clients then need none);
    one with a token declares it on every operation but the public ones, with its 401."""
    assert "securitySchemes" not in schema["components"]
    assert all("security" not in operation for _, _, operation in _operations(schema))
    guarded = create_app(Settings(api_token="s3cret")).openapi()  # type: ignore[arg-type]
    assert guarded["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "s3cret" not in json.dumps(guarded)
    for path, method, operation in _operations(guarded):
        if path in {"/health", "/ready"}:
            assert "security" not in operation
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
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


def test_operation_ids_are_short_stable_snake_case(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z]+){0,4}", operation_id), operation_id
    for path, method, operation in _operations(schema):
        summary = operation["summary"]
        default = operation["operationId"].replace("_", " ").title()
        assert summary != default, (method, path)  # written, not FastAPI's default
        assert len(summary) <= 48, summary


def test_the_headers_clients_rely_on_are_documented(schema: dict[str, Any]) -> None:
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert ("default" in responses) == ("figure" not in path), (method, path)
        for status, response in responses.items():
            headers = response.get("headers", {})
            assert "X-Request-ID" in headers, (method, path, status)
            if status in {"429", "503"}:
                assert "Retry-After" in headers, (method, path, status)
            if status in {"201", "202"}:
                assert headers["Location"]["required"] is True, (method, path, status)
    cached = ["/loss-surface", "/gradient-over-time", "/datasets/{dataset_id}"]
    cached += [path for path in schema["paths"] if "figure" in path]
    for path in cached:
        responses = schema["paths"][path]["get"]["responses"]
        assert "304" in responses, path
        assert responses["200"]["headers"]["ETag"]["required"] is True, path
    surface = schema["paths"]["/loss-surface"]["get"]["responses"]["200"]["headers"]
    assert {"Vary", "X-Overflow"} <= set(surface)


def test_images_and_arrays_are_binary(schema: dict[str, Any]) -> None:
    binary = {"type": "string", "format": "binary"}
    for path in ("/figures/loss-surface.{fmt}", "/jobs/{job_id}/figure.{fmt}"):
        content = schema["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {"image/png": {"schema": binary}, "image/svg+xml": {"schema": binary}}
    content = schema["paths"]["/jobs/{job_id}/trajectory"]["get"]["responses"]["200"]["content"]
    assert content["application/x-npy"]["schema"] == binary
    assert content["application/json"]["schema"] != {}


def test_fields_always_sent_are_required_even_when_null(schema: dict[str, Any]) -> None:
    schemas = schema["components"]["schemas"]
    job = schemas["Job"]
    for name in ("result", "error", "started_at", "finished_at", "worker"):
        assert name in job["required"], name
    assert "next_cursor" in schemas["JobList"]["required"]
    assert "next_cursor" in schemas["DatasetPage"]["required"]
    assert "spec" in schemas["DatasetOut"]["required"]
    assert "sequences" not in schemas["DatasetOut"]["required"]  # only with ?include=data
    assert "trace" not in schemas["GradientResponse"]["required"]  # only when asked for


def test_integer_bounds_are_integers(schema: dict[str, Any]) -> None:
    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for node in walk(schema):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum"):
                assert not isinstance(node.get(key), float), node
    seed = schema["components"]["schemas"]["DatasetSpec"]["properties"]["seed"]
    assert seed["maximum"] == 2**53 - 1


def test_the_served_document_states_the_servers_limits() -> None:
    settings = Settings(max_resolution=77, figure_max_resolution=33, max_iterations=900)
    served = create_app(settings).openapi()

    def parameter(path: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in served["paths"][path]["get"]["parameters"] if p["name"] == name]
        return dict(found["schema"])

    assert parameter("/loss-surface", "resolution")["maximum"] == 77
    assert parameter("/figures/loss-surface.{fmt}", "resolution")["maximum"] == 33
    assert parameter("/jobs/{job_id}/figure.{fmt}", "resolution")["maximum"] == 33
    train = served["components"]["schemas"]["TrainRequest"]["properties"]
    assert train["iterations"]["maximum"] == 900
    assert train["starts"]["anyOf"][0]["maxItems"] == settings.max_starts


def test_links_lead_from_created_ids_to_their_operations(schema: dict[str, Any]) -> None:
    operations = {op["operationId"]: op for _, _, op in _operations(schema)}
    created = schema["paths"]["/datasets"]["post"]["responses"]["201"]["links"]
    started = schema["paths"]["/train"]["post"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in created.values()} >= {"get_dataset", "delete_dataset"}
    assert {link["operationId"] for link in started.values()} >= {"get_job", "cancel_job"}
    for link in [*created.values(), *started.values()]:
        target = operations[link["operationId"]]
        names = {parameter["name"] for parameter in target["parameters"]}
        assert set(link["parameters"]) <= names, link


RULE_CASES = [
    ("PredictRequest", {"sequences": [[1.0]], "weights": {"wx": 1, "wrec": 1}}),
    ("PredictRequest", {"sequences": [[1.0]], "job_id": "01ABC"}),
    ("PredictRequest", {"sequences": [[1.0]], "job_id": "01ABC", "weights": None}),
    ("PredictRequest", {"sequences": [[1.0]]}),
    ("PredictRequest", {"sequences": [[1.0]], "weights": None, "job_id": None}),
    ("PredictRequest", {"sequences": [[1.0]], "weights": {"wx": 1, "wrec": 1}, "job_id": "x"}),
    ("LossRequest", {"weights": {"wx": 1, "wrec": 1}}),
    ("LossRequest", {"weights": {"wx": 1, "wrec": 1}, "dataset_id": "g-1", "dataset": None}),
    (
        "LossRequest",
        {
            "weights": {"wx": 1, "wrec": 1},
            "dataset_id": "g-1",
            "dataset": {"n_samples": 2, "length": 3},
        },
    ),
    ("TrainRequest", {"starts": [{"wx": 1, "wrec": 1}]}),
    ("TrainRequest", {"starts": [{"wx": 1, "wrec": 1}], "starts_grid": None}),
    (
        "TrainRequest",
        {
            "starts": [{"wx": 1, "wrec": 1}],
            "starts_grid": {
                "wx_min": 0,
                "wx_max": 1,
                "wrec_min": 0,
                "wrec_max": 1,
                "nx": 2,
                "ny": 2,
            },
        },
    ),
    ("DatasetSpec", {"n_samples": 2, "length": 3}),
    ("DatasetSpec", {"n_samples": 2, "min_length": 1, "max_length": 3}),
    ("DatasetSpec", {"n_samples": 2, "length": 3, "min_length": None}),
    ("DatasetSpec", {"n_samples": 2}),
    ("DatasetSpec", {"n_samples": 2, "min_length": 1}),
    ("DatasetSpec", {"n_samples": 2, "length": 3, "max_length": 4}),
    ("DatasetSpec", {"n_samples": 2, "length": None, "min_length": 2, "max_length": 2}),
]


@pytest.mark.parametrize(("model", "body"), RULE_CASES)
def test_rules_across_fields_are_the_validators(
    schema: dict[str, Any], model: str, body: dict[str, Any]
) -> None:
    """What the document says of a body is what the service does with it."""
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{model}", "components": schema["components"]}
    )
    by_schema = validator.is_valid(body)
    models = {
        "PredictRequest": PredictRequest,
        "LossRequest": LossRequest,
        "TrainRequest": TrainRequest,
        "DatasetSpec": DatasetSpec,
    }
    try:
        models[model].model_validate(body)
        by_model = True
    except ValidationError:
        by_model = False
    assert by_schema == by_model
