"""Settings, and the places that must agree with them: .env.example, the README, .ci/run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jobctl_mcp.config import Settings
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
