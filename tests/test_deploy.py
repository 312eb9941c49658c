"""The shipped deployment held to the server: the installed command is started with exactly the argument vector and
environment the Kubernetes manifest gives the image, and answers its probes; the manifests validate against the
Kubernetes schemas; the image's context, locks, base and health check are what the README says."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import kubernetes_validate  # pyright: ignore[reportMissingTypeStubs]
import pytest
from kubernetes_validate.utils import all_versions  # pyright: ignore[reportMissingTypeStubs]
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from jobctl_mcp.cli import load_settings, parse_args
from jobctl_mcp.config import PLACEHOLDER_MARK, Settings, is_secret, variable_name
from jobctl_mcp.endpoint import http_app
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.server import create_server
from tests.commands import COMMAND, clean_env, free_port
from tests.deployment import (
    ROOT,
    build_context,
    container,
    documents,
    image,
    kubernetes_argv,
    kubernetes_env,
    one,
    pod,
    secret_mount,
)

NAMESPACE = "payments"  # not `default`: the Host allow-list must follow the pod's namespace
POD_ADDRESS = "10.0.0.7"  # kubelet probes send Host: <pod IP>:<port>
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
JSON_RPC = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def real_values(shipped: dict[str, str]) -> dict[str, str]:
    """What an operator puts in the Secret instead of the placeholders: random values of the same form."""
    return {key: value.split(PLACEHOLDER_MARK)[0] + secrets.token_hex(32) for key, value in shipped.items()}


@dataclass(frozen=True)
class Container:
    """The manifest's container as this machine can run it: its argv and environment, the Secret as files."""

    argv: list[str]
    env: dict[str, str]
    secrets: dict[str, str]
    port: int  # the containerPort the probes name

    def on_loopback(self, port: int) -> dict[str, str]:
        """The environment with the bind address moved to loopback on `port`: the only change the tests make."""
        return self.env | {"JOBCTL_HOST": "127.0.0.1", "JOBCTL_PORT": str(port)}


def as_run_here(secret_dir: Path, values: dict[str, str]) -> Container:
    built, spec = image(), container()
    mount_path, shipped = secret_mount(spec)
    assert set(values) == set(shipped)
    for key, value in values.items():
        (secret_dir / key).write_text(f"{value}\n")  # as kubectl create secret --from-file leaves them
    env = {
        name: value.replace(mount_path, str(secret_dir), 1) if value.startswith(mount_path) else value
        for name, value in kubernetes_env(built, spec, NAMESPACE).items()
    }
    (port,) = [p["containerPort"] for p in spec["ports"] if p["name"] == "http"]
    return Container(kubernetes_argv(built, spec), env, values, port)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, int]]:
    """The installed command started as the manifest starts the image; yields it and its loopback port."""
    secret_dir = tmp_path_factory.mktemp("secrets")
    spec = as_run_here(secret_dir, real_values(secret_mount(container())[1]))
    assert spec.argv[0] == "jobctl-mcp"
    port = free_port()
    process = subprocess.Popen(
        [COMMAND, *spec.argv[1:]],
        env=clean_env(**spec.on_loopback(port)),
        cwd=secret_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        listening(process, port)
        yield spec, port
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, "the server did not listen within 20 s"
        time.sleep(0.05)


def test_the_image_runs_jobctl_mcp_with_the_manifests_args() -> None:
    """Kubernetes `args` replace the image's CMD only: the ENTRYPOINT must be the command itself."""
    built, spec = image(), container()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert built.entrypoint == ["jobctl-mcp"]
    assert built.entrypoint[0] in scripts
    assert kubernetes_argv(built, spec) == ["jobctl-mcp", *spec["args"]]
    assert kubernetes_argv(built, {}) == ["jobctl-mcp", "serve"]  # docker run with no arguments
    parse_args(kubernetes_argv(built, spec)[1:])  # arguments the command knows


def test_the_manifests_command_serves_its_probes(running: tuple[Container, int]) -> None:
    spec, port = running
    with httpx2.Client(base_url=f"http://127.0.0.1:{port}") as http:
        for probe in ("readinessProbe", "livenessProbe"):
            get = container()[probe]["httpGet"]
            assert get["port"] == "http"
            answer = http.get(get["path"], headers={"Host": f"{POD_ADDRESS}:{spec.port}"})
            assert answer.status_code == 200, (probe, answer.text)


def test_the_allowed_hosts_follow_the_pods_namespace(running: tuple[Container, int]) -> None:
    spec, port = running
    token = spec.secrets[Path(spec.env["JOBCTL_HTTP_TOKEN_FILE"]).name]

    def initialize(host: str) -> int:
        headers = JSON_RPC | {"Host": host, "Authorization": f"Bearer {token}"}
        return httpx2.post(f"http://127.0.0.1:{port}/mcp", json=INITIALIZE, headers=headers).status_code

    assert initialize(f"jobctl-mcp.{NAMESPACE}.svc:8000") == 200
    assert initialize(f"jobctl-mcp.{NAMESPACE}.svc.cluster.local:8000") == 200
    assert initialize("jobctl-mcp:8000") == 200
    assert initialize("jobctl-mcp.default.svc:8000") == 421  # another namespace's name


def test_the_image_healthcheck_follows_jobctl_port(running: tuple[Container, int]) -> None:
    _, port = running
    program, *arguments = image().healthcheck
    assert program == "python"

    def check(on: int) -> int:
        env = clean_env(JOBCTL_PORT=str(on))
        return subprocess.run([sys.executable, *arguments], env=env, capture_output=True, timeout=30).returncode

    assert check(port) == 0
    assert check(free_port()) != 0  # nothing listens there: unhealthy


@pytest.mark.skipif(shutil.which("curl") is None, reason="deploy/smoke.sh needs curl")
def test_the_image_smoke_test_passes_against_the_command(tmp_path: Path) -> None:
    """deploy/smoke.sh, which deploy/build-and-smoke.sh runs against the built image, run here against the
    installed command started as that script starts the container."""
    token, port = secrets.token_hex(32), free_port()
    loopback = {"JOBCTL_HOST": "127.0.0.1", "JOBCTL_PORT": str(port), "JOBCTL_HTTP_TOKEN": token}
    env = clean_env(**(image().env | loopback))
    args = [*image().entrypoint, "--transport", "streamable-http", "--stateless", "--sandbox"]
    assert " ".join(args[1:]) in (ROOT / "deploy" / "build-and-smoke.sh").read_text()
    process = subprocess.Popen([COMMAND, *args[1:]], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        listening(process, port)
        smoke = [str(ROOT / "deploy" / "smoke.sh"), f"http://127.0.0.1:{port}", token]
        done = subprocess.run(["bash", *smoke], capture_output=True, text=True, timeout=60)
        wrong = subprocess.run(["bash", *smoke[:2], "x" * 64], capture_output=True, text=True, timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
    assert done.returncode == 0, done.stderr
    assert wrong.returncode != 0  # the script does fail when the endpoint does not answer as it should


def test_ports_agree_across_image_manifest_and_server() -> None:
    built, spec = image(), container()
    (declared,) = spec["ports"]
    manifest_env = {v["name"]: v.get("value") for v in spec["env"]}
    assert built.exposed == [int(built.env["JOBCTL_PORT"])] == [declared["containerPort"]]
    assert int(manifest_env["JOBCTL_PORT"]) == declared["containerPort"]
    assert manifest_env["JOBCTL_HOST"] == built.env["JOBCTL_HOST"] == "0.0.0.0"  # probes come from outside the pod
    (service_port,) = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == declared["name"]
    assert one("Service")["spec"]["selector"] == pod()["metadata"]["labels"]


def test_the_pod_gets_its_secrets_as_files_and_no_api_token() -> None:
    spec = container()
    mount_path, shipped = secret_mount(spec)
    env = {v["name"]: v for v in spec["env"]}
    assert "envFrom" not in spec
    assert not [v for v in spec["env"] if "secretKeyRef" in v.get("valueFrom", {})]
    assert pod()["spec"]["automountServiceAccountToken"] is False
    (mount,) = [m for m in spec["volumeMounts"] if m["mountPath"] == mount_path]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod()["spec"]["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["defaultMode"] & 0o007 == 0  # no access for others
    assert env["JOBCTL_SECRETS_DIR"]["value"] == mount_path
    token_key = Path(env["JOBCTL_HTTP_TOKEN_FILE"]["value"]).name
    assert env["JOBCTL_HTTP_TOKEN_FILE"]["value"] == f"{mount_path}/{token_key}"
    # Every other key sets a secret setting of the same name through JOBCTL_SECRETS_DIR.
    secret_variables = {variable_name(f) for f in Settings.model_fields if is_secret(f)}
    assert set(shipped) - {token_key} <= secret_variables


def test_confirmation_is_on_with_the_state_key_from_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = as_run_here(tmp_path, real_values(secret_mount(container())[1]))
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(parse_args(spec.argv[1:]))
    assert settings.confirm_destructive is True
    assert settings.confirm_fallback == "deny"
    assert settings.stateless is True
    assert settings.state_key is not None
    assert settings.state_key.get_secret_value() == spec.secrets["JOBCTL_STATE_KEY"]
    assert settings.http_token is None
    assert settings.http_token_file is not None


@pytest.mark.parametrize("left_as_shipped", list(secret_mount(container())[1]))
def test_a_placeholder_left_in_the_secret_stops_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left_as_shipped: str
) -> None:
    shipped = secret_mount(container())[1]
    values = real_values(shipped) | {left_as_shipped: shipped[left_as_shipped]}
    spec = as_run_here(tmp_path, values)
    for name, value in spec.env.items():
        monkeypatch.setenv(name, value)
    # A key named like a variable is refused as that variable; the token file as itself.
    variables = {variable_name(f) for f in Settings.model_fields}
    refused_as = left_as_shipped if left_as_shipped in variables else "JOBCTL_HTTP_TOKEN_FILE"
    with pytest.raises(ConfigError, match=rf"{refused_as}\b.*is still a placeholder") as refused:
        start(parse_args(spec.argv[1:]))
    assert shipped[left_as_shipped] not in str(refused.value)


def start(args: argparse.Namespace) -> None:
    """What the command does before it listens: load the settings, build the server and its HTTP endpoint."""
    settings = load_settings(args)
    http_app(create_server(settings), settings)


def test_a_network_policy_and_a_disruption_budget_cover_the_pods() -> None:
    labels = pod()["metadata"]["labels"]
    policy = one("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == labels
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    assert [set(source) for source in ingress["from"]] == [{"namespaceSelector"}]  # the platform's namespace
    assert ingress["ports"] == [{"protocol": "TCP", "port": "http"}]
    egress_ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}  # DNS and the vendors' HTTPS, nothing else
    budget = one("PodDisruptionBudget")["spec"]
    assert budget["selector"]["matchLabels"] == labels
    assert 1 <= budget["minAvailable"] < one("Deployment")["spec"]["replicas"]


KUBERNETES_VERSIONS = [all_versions()[0], all_versions()[-1]]  # the oldest and newest the validator ships


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("document", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_the_manifests_validate_against_the_kubernetes_schemas(document: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(document, version, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = one("Deployment") | {"spec": one("Deployment")["spec"] | {"replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_image_is_built_on_the_python_ci_tests() -> None:
    python = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pyright"]["pythonVersion"]
    assert re.fullmatch(rf"python:{re.escape(python)}-slim[\w.-]*(@sha256:[0-9a-f]{{64}})?", image().base)
    readme = (ROOT / "README.md").read_text()
    assert "--build-arg PYTHON_IMAGE=python:" in readme  # how to pin it by digest


def test_the_image_copies_what_the_build_needs_and_the_license() -> None:
    built, project = image(), tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {"pyproject.toml", project["readme"], *project["license-files"], "src"} <= set(built.copied)
    assert "LICENSE" in built.copied_last  # in the image itself, beside the wheel's copy


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    context = build_context()
    for source in image().copied:
        assert any(path == source or path.startswith(f"{source}/") for path in context), source
    assert {path.split("/")[0] for path in context} == {"pyproject.toml", "README.md", "LICENSE", "src", "deploy"}
    assert not [path for path in context if "__pycache__" in path or path.endswith(".pyc")]
    assert sum(context.values()) < 1_048_576


def locked(lock: Path) -> dict[str, tuple[Requirement, list[str]]]:
    """The lock's requirements by name, each with its hashes."""
    pinned: dict[str, tuple[Requirement, list[str]]] = {}
    for line in re.sub(r"\\\n\s*", " ", lock.read_text()).splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.split(" --hash=")[0].strip())
            pinned[canonicalize_name(requirement.name)] = (
                requirement,
                re.findall(r"--hash=(sha256:[0-9a-f]{64})", line),
            )
    return pinned


def test_the_image_installs_every_dependency_from_a_lock_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime, build = locked(ROOT / "deploy" / "requirements.lock"), locked(ROOT / "deploy" / "build.lock")
    for lock in (runtime, build):
        for requirement, hashes in lock.values():
            assert [pin.operator for pin in requirement.specifier] == ["=="], requirement
            assert hashes, requirement
    for wanted, lock in [(project["project"]["dependencies"], runtime), (project["build-system"]["requires"], build)]:
        for declared in map(Requirement, wanted):
            version = next(iter(lock[canonicalize_name(declared.name)][0].specifier)).version
            assert declared.specifier.contains(version), (declared, version)
    assert set(dependencies_of("jobctl-mcp")) <= set(runtime), "deploy/requirements.lock is stale: see its header"
    run = " ".join(image().run)
    assert "pip install --require-hashes -r deploy/build.lock" in run
    assert "pip install --require-hashes -r /tmp/requirements.lock" in run


def dependencies_of(distribution: str) -> Generator[str]:
    """Every distribution the installed one needs on this machine, transitively (itself excluded)."""
    seen: set[str] = {canonicalize_name(distribution)}
    todo = [(distribution, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in ("", *extras)]
            needed = requirement.marker is None or any(requirement.marker.evaluate(e) for e in environments)
            if needed and canonicalize_name(requirement.name) not in seen:
                seen.add(canonicalize_name(requirement.name))
                todo.append((requirement.name, frozenset(requirement.extras)))
                yield canonicalize_name(requirement.name)
