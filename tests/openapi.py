"""The official Qovery OpenAPI subset, when ../shared is beside the project: checks that skip cleanly without it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

SPEC = Path(__file__).resolve().parents[2] / "shared" / "vendor" / "qovery" / "openapi-jobs.yaml"
_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


@dataclass(frozen=True)
class OpenAPI:
    document: dict[str, Any]

    def operation(self, method: str, path: str) -> dict[str, Any]:
        """The operation serving `method path` (a concrete path, its ids filled in)."""
        operations: dict[str, Any] = self.document["paths"][self.template(path)]
        return operations[method.lower()]

    def template(self, path: str) -> str:
        """The spec's path template that `path` fills, e.g. /environment/{environmentId}/job/status."""
        for template in self.document["paths"]:
            if re.fullmatch(re.sub(r"{\w+}", "[^/]+", template), path):
                return template
        raise AssertionError(f"no operation of the official spec serves {path}")

    def parameters(self, method: str, path: str) -> dict[str, dict[str, Any]]:
        """The operation's query parameters by name, with their schemas."""
        declared = [self.resolve(p) for p in self.operation(method, path).get("parameters", [])]
        return {p["name"]: json_schema(p["schema"], self.document) for p in declared if p["in"] == "query"}

    def resolve(self, node: Any) -> dict[str, Any]:
        return cast(dict[str, Any], json_schema(node, self.document))

    def validate(self, instance: Any, schema: Any) -> None:
        import jsonschema

        jsonschema.validate(instance, json_schema(schema, self.document), cls=jsonschema.Draft202012Validator)


def qovery_spec() -> OpenAPI:
    """The spec, or a skip when this machine has no ../shared (a user's machine)."""
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not available")
    import yaml

    return OpenAPI(yaml.safe_load(SPEC.read_text()))


def json_schema(node: object, spec: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: inline local $refs, `nullable`, and the discriminator's choice."""
    if isinstance(node, list):
        return [json_schema(item, spec) for item in cast(list[Any], node)]
    if not isinstance(node, dict):
        return node
    schema = cast(dict[str, Any], node)
    if "$ref" in schema:
        target: Any = spec
        for key in str(schema["$ref"]).split("/")[1:]:
            target = target[key]
        return json_schema(target, spec)
    converted = {k: json_schema(v, spec) for k, v in schema.items() if k not in ("nullable", "discriminator")}
    if "discriminator" in schema:  # without it, oneOf fails: a CRON job is also a valid LIFECYCLE job
        name: str = schema["discriminator"]["propertyName"]
        mapping: dict[str, str] = schema["discriminator"]["mapping"]
        choices = [
            {"if": {"properties": {name: {"const": value}}}, "then": json_schema({"$ref": ref}, spec)}
            for value, ref in mapping.items()
        ]
        converted = {"required": [name], "properties": {name: {"enum": list(mapping)}}, "allOf": choices}
    return {"anyOf": [{"type": "null"}, converted]} if schema.get("nullable") else converted
