"""Settings, and the places that must agree with them: .env.example, the README, .ci/run. Where settings come
from: the environment always, a .env file or a secrets directory only when the operator names it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jobctl_mcp.check import check_vendors
from jobctl_mcp.cli import load_settings, parse_args
from jobctl_mcp.config import PLACEHOLDER_MARK, Settings, from_environment
from jobctl_mcp.errors import ConfigError
from jobctl_mcp.sandbox import COMMVAULT_API_KEY, QOVERY_API_KEY, Sandbox
from jobctl_mcp.sandbox.loopback import serving
from tests.commands import COMMAND, clean_env
from tests.conftest import isolated_settings

ROOT = Path(__file__).resolve().parents[1]


def load(env_file: Path | None) -> Settings:
    """Settings from the environment and `env_file` alone (pyright does not know `_env_file`)."""
    options: dict[str, Any] = {"_env_file": env_file}
    return Settings(**options)


def variable_names() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(str(field.validation_alias) if field.validation_alias else f"JOBCTL_{name.upper()}")
    return names


def test_env_example_lists_every_variable_and_nothing_else() -> None:
    listed = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert listed == variable_names()


def test_env_example_loads_with_its_comments_stripped(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    settings = load(env_file)
    assert settings.commvault_base_url == "https://cs.example.com/commandcenter/api"
    assert settings.commvault_api_key is None  # empty values count as unset
    assert settings.commvault_missing() == ["COMMVAULT_API_KEY (or COMMVAULT_USERNAME and COMMVAULT_PASSWORD)"]


def test_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    assert variable_names() <= set(re.findall(r"`([A-Z][A-Z_]+)[`=]", readme))


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Run the tests:\n\n```sh\n(.+)\n```", readme)
    assert command is not None
    assert command.group(1) in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_webserver_gives_the_webconsole_root() -> None:
    settings = isolated_settings(commvault_webserver="cs.example.com")
    assert settings.commvault_api_root == "https://cs.example.com/webconsole/api"


def test_base_url_wins_and_loses_its_trailing_slash() -> None:
    settings = isolated_settings(commvault_base_url="https://a.example.com/api/", commvault_webserver="b.example.com")
    assert settings.commvault_api_root == "https://a.example.com/api"


def test_tls_verification_takes_a_boolean_or_an_existing_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert isolated_settings(commvault_verify_tls="false").commvault_verify_tls is False
    assert isolated_settings(commvault_verify_tls=str(bundle)).commvault_verify_tls == bundle
    with pytest.raises(ValidationError):
        isolated_settings(commvault_verify_tls=str(tmp_path / "missing.pem"))


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    settings = isolated_settings(commvault_password="hunter2-secret", qovery_api_key="qov_secret")
    assert "hunter2-secret" not in repr(settings)
    assert "qov_secret" not in repr(settings)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QOVERY_API_KEY", "qov_from_env")
    monkeypatch.setenv("JOBCTL_RETRIES", "5")
    monkeypatch.setenv("JOBCTL_LOG_LEVEL", "debug")
    settings = load(None)
    assert settings.qovery_api_key is not None
    assert settings.qovery_api_key.get_secret_value() == "qov_from_env"
    assert (settings.retries, settings.log_level) == (5, "DEBUG")


# What a hostile working directory would plant: the Qovery token sent elsewhere, and confirmation waived.
PLANTED = "QOVERY_BASE_URL=https://collector.example\nJOBCTL_CONFIRM_FALLBACK=allow\n"


def test_a_dotenv_in_the_working_directory_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(PLANTED)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(parse_args([]))
    assert (settings.qovery_base_url, settings.confirm_fallback) == ("https://api.qovery.com", "deny")


@pytest.mark.parametrize("named_by", ["--env-file", "JOBCTL_ENV_FILE"])
def test_a_dotenv_the_operator_names_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named_by: str) -> None:
    env_file = tmp_path / "jobctl.env"
    env_file.write_text(PLANTED)
    monkeypatch.chdir(tmp_path)
    if named_by == "JOBCTL_ENV_FILE":
        monkeypatch.setenv("JOBCTL_ENV_FILE", str(env_file))
    settings = load_settings(parse_args(["--env-file", str(env_file)] if named_by == "--env-file" else []))
    assert (settings.qovery_base_url, settings.confirm_fallback) == ("https://collector.example", "allow")


def test_a_named_env_file_that_does_not_exist_stops_the_server(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="JOBCTL_ENV_FILE \\(or --env-file\\) names no readable file"):
        from_environment(env_file=tmp_path / "missing.env")


def test_the_command_ignores_a_dotenv_in_its_working_directory_unless_named(tmp_path: Path) -> None:
    """A desktop host starts the server wherever it likes: the planted file reaches no vendor until it is named."""
    sandbox = Sandbox()
    with serving(sandbox.qovery.app) as qovery:
        (tmp_path / ".env").write_text(f"QOVERY_BASE_URL={qovery}\nQOVERY_API_KEY={QOVERY_API_KEY}\n")

        def check(*flags: str) -> list[str]:
            run = [COMMAND, "check", *flags]
            done = subprocess.run(run, env=clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
            return done.stdout.splitlines()

        ignored = check()
        named = check("--env-file", ".env")
    assert ignored[1] == "qovery: not configured - set QOVERY_API_KEY"
    assert named[1] == "qovery: ok - GET /organization answered (Acme)"
    assert len(sandbox.qovery.requests) == 1  # the named run's one check, none from the first


@pytest.mark.anyio
async def test_api_keys_lose_a_trailing_newline_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key pasted from `echo` or a Secret keeps its newline; sent as it is, it would break the header."""
    monkeypatch.setenv("COMMVAULT_BASE_URL", Sandbox.COMMVAULT_BASE_URL)
    monkeypatch.setenv("COMMVAULT_API_KEY", f"{COMMVAULT_API_KEY}\n")
    monkeypatch.setenv("QOVERY_BASE_URL", Sandbox.QOVERY_BASE_URL)
    monkeypatch.setenv("QOVERY_API_KEY", f" {QOVERY_API_KEY}\r\n")
    settings = from_environment()
    assert settings.commvault_api_key is not None
    assert settings.commvault_api_key.get_secret_value() == COMMVAULT_API_KEY
    sandbox = Sandbox()
    results = await check_vendors(settings.model_copy(update={"retries": 0}), sandbox.transports())
    assert [result.state for result in results] == ["ok", "ok"]
    assert sandbox.commvault.requests[0].headers["authtoken"] == COMMVAULT_API_KEY


USERINFO = [
    ("COMMVAULT_BASE_URL", "https://admin:hunter2@cs.example.com/commandcenter/api"),
    ("COMMVAULT_WEBSERVER", "admin:hunter2@cs.example.com"),
    ("QOVERY_BASE_URL", "https://token:hunter2@api.qovery.com"),
]


@pytest.mark.parametrize(("variable", "url"), USERINFO)
def test_a_vendor_url_with_a_user_and_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, url: str
) -> None:
    monkeypatch.setenv(variable, url)
    with pytest.raises(ConfigError) as refused:
        from_environment()
    assert str(refused.value) == (
        f"invalid configuration: {variable}: Value error, must not carry a user or password (user:password@): "
        "set the credentials in their own variables"
    )


def test_the_command_refuses_userinfo_at_startup_in_one_line_without_the_password(tmp_path: Path) -> None:
    env = clean_env(COMMVAULT_BASE_URL=USERINFO[0][1])
    refused = subprocess.run([COMMAND, "check"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "jobctl-mcp: invalid configuration: COMMVAULT_BASE_URL: Value error, must not carry a user or password "
        "(user:password@): set the credentials in their own variables"
    ]


def test_variables_come_from_a_secrets_directory_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Kubernetes Secret mounted as files: one file per variable, named like it, with a trailing newline."""
    (tmp_path / "QOVERY_API_KEY").write_text("qov_from_a_mounted_secret\n")
    (tmp_path / "JOBCTL_STATE_KEY").write_text("k" * 40 + "\n")
    (tmp_path / "COMMVAULT_API_KEY").write_text("QSDK from-the-file\n")
    monkeypatch.setenv("COMMVAULT_API_KEY", "QSDK from-the-environment")
    settings = from_environment(secrets_dir=tmp_path)
    assert settings.qovery_api_key is not None
    assert settings.qovery_api_key.get_secret_value() == "qov_from_a_mounted_secret"
    assert settings.state_key is not None
    assert settings.state_key.get_secret_value() == "k" * 40
    assert settings.commvault_api_key is not None
    assert settings.commvault_api_key.get_secret_value() == "QSDK from-the-environment"


@pytest.mark.parametrize("variable", ["JOBCTL_HTTP_TOKEN", "JOBCTL_STATE_KEY"])
@pytest.mark.parametrize("value", ["too-short-0123456789", f"{PLACEHOLDER_MARK}32-or-more-random-characters"])
def test_a_short_or_placeholder_token_or_state_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^invalid configuration: {variable}: Value error, ") as refused:
        from_environment()
    assert value not in str(refused.value)
