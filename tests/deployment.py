"""The shipped deployment files read as Docker and Kubernetes read them: the Dockerfile's final image, the build
context its .dockerignore leaves, and the process and environment a Kubernetes container gets from the manifest."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = sorted((ROOT / "deploy").glob("*.yaml"))


@dataclass
class Image:
    """What the Dockerfile's last stage gives a container, and what every stage copies from the build context."""

    base: str = ""
    env: dict[str, str] = field(default_factory=dict[str, str])
    entrypoint: list[str] = field(default_factory=list[str])
    cmd: list[str] = field(default_factory=list[str])
    healthcheck: list[str] = field(default_factory=list[str])
    exposed: list[int] = field(default_factory=list[int])
    copied: list[str] = field(default_factory=list[str])  # build-context paths, all stages
    copied_last: list[str] = field(default_factory=list[str])  # build-context paths, last stage
    run: list[str] = field(default_factory=list[str])  # RUN commands, all stages


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) in order, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = (line.strip() for line in joined.splitlines())
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def image(dockerfile: Path = ROOT / "Dockerfile") -> Image:
    """The Dockerfile as Docker builds it, build arguments at their defaults."""
    build_args: dict[str, str] = {}
    built = Image()
    for word, rest in instructions(dockerfile.read_text()):
        if word == "ARG" and not built.base:
            name, _, default = rest.partition("=")
            build_args[name] = default
        elif word == "FROM":
            # A new stage starts afresh; only the last one is the image.
            reference = re.sub(r"\$\{(\w+)\}", lambda m: build_args[m.group(1)], rest.split()[0])
            built = Image(base=reference, copied=built.copied, run=built.run)
        elif word == "ENV":
            built.env |= dict(pair.split("=", 1) for pair in shlex.split(rest))
        elif word in ("ENTRYPOINT", "CMD"):
            setattr(built, word.lower(), json.loads(rest))
        elif word == "HEALTHCHECK":
            built.healthcheck = json.loads(rest.split(" CMD ", 1)[1])
        elif word == "EXPOSE":
            built.exposed += [int(port.split("/")[0]) for port in rest.split()]
        elif word == "COPY" and "--from=" not in rest:
            sources = shlex.split(rest)[:-1]
            built.copied += sources
            built.copied_last += sources
        elif word == "RUN":
            built.run.append(rest)
    return built


def build_context(root: Path = ROOT) -> dict[str, int]:
    """The files `docker build` sends, with their sizes: everything under `root` that .dockerignore leaves."""
    lines = (line.strip() for line in (root / ".dockerignore").read_text().splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    context: dict[str, int] = {}
    for directory, subdirectories, files in os.walk(root):
        relative = Path(directory).relative_to(root)
        # An ignored directory with no exception below it is not walked (Docker skips it the same way).
        subdirectories[:] = [
            d
            for d in subdirectories
            if not _ignored(str(relative / d), patterns) or _reincluded_below(str(relative / d), patterns)
        ]
        for name in files:
            if not _ignored(str(relative / name), patterns):
                context[str(relative / name)] = (Path(directory) / name).stat().st_size
    return context


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides; `!` re-includes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        glob = pattern.removeprefix("!").rstrip("/")
        if any(_matches(prefix, glob) for prefix in prefixes):
            ignored = not pattern.startswith("!")
    return ignored


def _matches(path: str, glob: str) -> bool:
    if glob.startswith("**/"):  # at any depth: compare the path's last components
        glob = glob[3:]
        path = "/".join(path.split("/")[-(glob.count("/") + 1) :])
    # A * never crosses a slash, as in Go's filepath.Match.
    return path.count("/") == glob.count("/") and fnmatch.fnmatchcase(path, glob)


def _reincluded_below(directory: str, patterns: list[str]) -> bool:
    return any(pattern.startswith(f"!{directory}/") for pattern in patterns)


def documents() -> list[dict[str, Any]]:
    """Every Kubernetes object in deploy/*.yaml."""
    loaded: list[dict[str, Any]] = []
    for manifest in MANIFESTS:
        loaded += [cast(dict[str, Any], doc) for doc in yaml.safe_load_all(manifest.read_text()) if doc]
    return loaded


def one(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents() if doc["kind"] == kind]
    return found


def pod() -> dict[str, Any]:
    return one("Deployment")["spec"]["template"]


def container() -> dict[str, Any]:
    (only,) = pod()["spec"]["containers"]
    return cast(dict[str, Any], only)


def kubernetes_argv(built: Image, spec: dict[str, Any]) -> list[str]:
    """The process Kubernetes starts: `command` replaces the ENTRYPOINT and drops CMD; `args` replace CMD."""
    if "command" in spec:
        return [*spec["command"], *spec.get("args", [])]
    return [*built.entrypoint, *spec.get("args", built.cmd)]


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def kubernetes_env(built: Image, spec: dict[str, Any], namespace: str) -> dict[str, str]:
    """The container's environment: the image's ENV, then `env` in order, each $(VAR) in a value expanded from the
    variables `env` defined before it ($$ for a literal $), as Kubernetes expands them."""
    defined: dict[str, str] = {}

    def expand(match: re.Match[str]) -> str:
        return "$" if match.group(0) == "$$" else defined.get(match.group(1), match.group(0))

    for variable in spec.get("env", []):
        if "valueFrom" in variable:
            # The downward API is the only source this manifest uses; a secretKeyRef would fail here on purpose.
            assert variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}, variable
            defined[variable["name"]] = namespace
        else:
            defined[variable["name"]] = _REFERENCE.sub(expand, str(variable["value"]))
    return built.env | defined


def secret_mount(spec: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Where the pod mounts its Secret, and the Secret's keys and values."""
    volumes = {v["name"]: v for v in pod()["spec"].get("volumes", [])}
    (mount,) = [m for m in spec.get("volumeMounts", []) if "secret" in volumes[m["name"]]]
    secret = one("Secret")
    assert volumes[mount["name"]]["secret"]["secretName"] == secret["metadata"]["name"]
    return mount["mountPath"], dict(secret["stringData"])
