"""Settings from the environment, and from a .env file or a secrets directory when the operator names one, built
once in main() and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobctl_mcp.errors import ConfigError

# The endpoint token and the state key guard every request and every confirmation: a guessable one is refused.
MIN_KEY_LENGTH = 32
# Every placeholder secret in deploy/ starts with this, so that a manifest applied unfilled cannot start.
PLACEHOLDER_MARK = "replace-with-"
USERINFO_REFUSED = "must not carry a user or password (user:password@): set the credentials in their own variables"
PLACEHOLDER_REFUSED = f"is still a placeholder ({PLACEHOLDER_MARK}...): set a real value"
TOO_SHORT = f"must be at least {MIN_KEY_LENGTH} characters (generate one with: openssl rand -hex 32)"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Toolset = Literal["commvault", "qovery"]
# Lists are written comma-separated in the environment, e.g. JOBCTL_TOOLS=commvault-list-jobs,get-job-status.
Names = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Vendor settings under the seed specs' own names; server options prefixed JOBCTL_."""

    model_config = SettingsConfigDict(
        env_prefix="JOBCTL_",
        # No .env from the working directory: whoever controls that directory would choose the vendor URLs the
        # credentials are sent to. A file is read only when the operator names it (from_environment).
        env_file=None,
        env_ignore_empty=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
    )

    # Vendor variables keep the seed specs' names, without the JOBCTL_ prefix.
    commvault_base_url: str | None = Field(
        default=None,
        validation_alias="COMMVAULT_BASE_URL",
        description="Commvault API root, e.g. https://cs.example.com/commandcenter/api",
    )
    commvault_webserver: str | None = Field(
        default=None,
        validation_alias="COMMVAULT_WEBSERVER",
        description="Commvault web server host, giving https://HOST/webconsole/api",
    )
    commvault_api_key: SecretStr | None = Field(
        default=None, validation_alias="COMMVAULT_API_KEY", description="Commvault Authtoken, e.g. 'QSDK ...'"
    )
    commvault_username: str | None = Field(
        default=None, validation_alias="COMMVAULT_USERNAME", description="Commvault user, logged in with POST /Login"
    )
    commvault_password: SecretStr | None = Field(
        default=None, validation_alias="COMMVAULT_PASSWORD", description="Password of COMMVAULT_USERNAME"
    )
    commvault_verify_tls: bool | FilePath = Field(
        default=True, validation_alias="COMMVAULT_VERIFY_TLS", description="true, false, or the path of a CA bundle"
    )
    qovery_api_key: SecretStr | None = Field(
        default=None, validation_alias="QOVERY_API_KEY", description="Qovery API token (qov_...) or a JWT"
    )
    qovery_base_url: str = Field(
        default="https://api.qovery.com", validation_alias="QOVERY_BASE_URL", description="Qovery API root"
    )
    qovery_organization_id: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Za-z-]{1,64}$",
        validation_alias="QOVERY_ORGANIZATION_ID",
        description="Find jobs in this organization only; default: every organization the token sees",
    )

    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to open a connection to a vendor")
    read_timeout: float = Field(default=30.0, gt=0, description="Seconds to wait for a vendor's answer")
    retries: int = Field(default=2, ge=0, le=10, description="Retries of a request that may safely be sent again")
    retry_backoff: float = Field(default=0.5, ge=0, description="First retry delay in seconds, doubled each retry")
    retry_backoff_max: float = Field(default=8.0, ge=0, description="Longest retry delay in seconds")
    retry_after_max: float = Field(
        default=30.0, ge=0, description="Longest Retry-After waited out, in seconds; a longer one is reported at once"
    )
    max_response_bytes: int = Field(
        default=16_777_216, ge=1_048_576, description="Largest vendor answer read; a larger one is refused"
    )
    log_level: LogLevel = Field(default="INFO", description="Log level (logs go to stderr)")

    read_only: bool = Field(default=False, description="Only read-only tools are listed and callable")
    toolsets: Annotated[tuple[Toolset, ...], NoDecode] = Field(
        default=("commvault", "qovery"), description="Vendors whose tools are served, comma-separated"
    )
    tools: Names | None = Field(default=None, description="Allow-list of tool names, comma-separated")
    exclude_tools: Names = Field(default=(), description="Deny-list of tool names, comma-separated")
    disable_destructive: bool = Field(default=False, description="Destructive tools are not listed")
    confirm_destructive: bool = Field(
        default=False, description="A human confirms each destructive call through MCP elicitation"
    )
    confirm_fallback: Literal["deny", "allow"] = Field(
        default="deny", description="What a destructive call does when the client cannot ask a human"
    )
    dry_run: bool = Field(default=False, description="Mutating tools return the request they would send")
    audit_log: Path | None = Field(default=None, description="File that receives one JSON line per mutating call")
    call_timeout: float = Field(default=120.0, gt=0, description="Seconds a tool call may take, retries included")
    poll_interval: float = Field(default=2.0, gt=0, description="wait-for-job: first pause between polls, seconds")
    poll_interval_max: float = Field(default=30.0, gt=0, description="wait-for-job: longest pause between polls")
    otel_record_arguments: bool = Field(
        default=False,
        description="Exported traces carry each tool call's arguments, secret-looking keys redacted (OTEL_*: README)",
    )

    transport: Literal["stdio", "streamable-http"] = Field(default="stdio", description="How clients connect")
    host: str = Field(default="127.0.0.1", description="Address the HTTP endpoint binds")
    port: int = Field(default=8000, ge=0, le=65535, description="Port of the HTTP endpoint")
    stateless: bool = Field(default=False, description="No HTTP sessions: any replica can answer any request")
    http_token: SecretStr | None = Field(
        default=None, description="Bearer token every HTTP request must carry (32+ characters)"
    )
    http_token_file: Path | None = Field(
        default=None, description="File holding that token, read again when it changes (rotation without restart)"
    )
    oauth_issuer: str | None = Field(
        default=None,
        description="OAuth issuer whose signed access tokens the HTTP endpoint accepts (instead of JOBCTL_HTTP_TOKEN)",
    )
    public_url: str | None = Field(
        default=None, description="Public URL of this MCP endpoint, e.g. https://jobs.example.com/mcp (with an issuer)"
    )
    oauth_audience: str | None = Field(
        default=None, description="Audience an access token must name; default: JOBCTL_PUBLIC_URL"
    )
    oauth_scope_read: str = Field(default="jobs:read", description="Scope that lets a caller use read-only tools")
    oauth_scope_write: str = Field(
        default="jobs:write", description="Scope that lets a caller use mutating tools that are not destructive"
    )
    oauth_scope_destroy: str = Field(
        default="jobs:destroy", description="Scope that lets a caller use destructive tools (and DELETE events)"
    )
    allowed_hosts: Names = Field(default=(), description="Host headers accepted besides loopback ('*': any)")
    allowed_origins: Names = Field(default=(), description="Origin headers accepted besides loopback")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest HTTP request body accepted")
    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a client has to send a request's headers; then it is disconnected"
    )
    body_timeout: float = Field(
        default=30.0, gt=0, description="Seconds a client has to send a request's body once its headers arrived"
    )
    idle_timeout: int = Field(default=5, ge=1, description="Seconds an idle keep-alive HTTP connection stays open")
    max_connections: int = Field(
        default=1000, ge=1, description="HTTP connections served at once; a request beyond them gets 503"
    )
    state_key: SecretStr | None = Field(
        default=None, description="Key that seals confirmation state, shared by replicas (32+ characters)"
    )

    @field_validator("commvault_base_url", "qovery_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        # A user:password@ would travel into dry-run output, the audit file and debug logs with every URL shown.
        if "@" in urlsplit(value).netloc:
            raise ValueError(USERINFO_REFUSED)
        return value.rstrip("/")

    @field_validator("oauth_issuer", "public_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        # The issuer is compared with each token's `iss` exactly, so it is kept as written (a trailing slash too).
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// or http://")
        if value is not None and "@" in urlsplit(value).netloc:
            raise ValueError(USERINFO_REFUSED)
        return value

    @field_validator("oauth_scope_read", "oauth_scope_write", "oauth_scope_destroy")
    @classmethod
    def _one_scope(cls, value: str) -> str:
        # RFC 6749 §3.3: a scope token is printable ASCII without spaces, quotes or backslashes.
        if not value or any(c in ' "\\' or not "!" <= c <= "~" for c in value):
            raise ValueError("must be one scope: printable ASCII, no spaces, quotes or backslashes")
        return value

    @field_validator("commvault_webserver")
    @classmethod
    def _bare_host(cls, value: str | None) -> str | None:
        if value is not None and "@" in value:
            raise ValueError(USERINFO_REFUSED)
        return value

    @field_validator("commvault_api_key", "qovery_api_key", "http_token", "state_key")
    @classmethod
    def _stripped(cls, value: SecretStr | None) -> SecretStr | None:
        # A key pasted with its trailing newline would otherwise reach an HTTP header, and the HTTP library's
        # debug log with it.
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(value.get_secret_value().strip())

    @field_validator("commvault_api_key", "commvault_password", "qovery_api_key", "http_token", "state_key")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and is_placeholder(value.get_secret_value()):
            raise ValueError(PLACEHOLDER_REFUSED)
        return value

    @field_validator("http_token", "state_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_KEY_LENGTH:
            raise ValueError(TOO_SHORT)
        return value

    @field_validator("toolsets", "tools", "exclude_tools", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def commvault_api_root(self) -> str | None:
        if self.commvault_base_url:
            return self.commvault_base_url
        if self.commvault_webserver:
            return f"https://{self.commvault_webserver.strip('/')}/webconsole/api"
        return None

    @property
    def audience(self) -> str | None:
        """What an access token's `aud` must contain."""
        return self.oauth_audience or self.public_url

    def commvault_missing(self) -> list[str]:
        """The variables still to set before the Commvault tools can work."""
        missing: list[str] = []
        if self.commvault_api_root is None:
            missing.append("COMMVAULT_BASE_URL (or COMMVAULT_WEBSERVER)")
        if self.commvault_api_key is None:
            if self.commvault_username and not self.commvault_password:
                missing.append("COMMVAULT_PASSWORD")
            elif not self.commvault_username:
                missing.append("COMMVAULT_API_KEY (or COMMVAULT_USERNAME and COMMVAULT_PASSWORD)")
        return missing

    def qovery_missing(self) -> list[str]:
        """The variables still to set before the Qovery tools can work."""
        return [] if self.qovery_api_key else ["QOVERY_API_KEY"]


def variable_name(field: str) -> str:
    """The environment variable behind a Settings field."""
    alias = Settings.model_fields[field].validation_alias
    return str(alias) if alias else f"JOBCTL_{field.upper()}"


def is_secret(field: str) -> bool:
    """Whether a Settings field holds a secret (its type says so)."""
    annotation = Settings.model_fields[field].annotation
    return annotation is not None and SecretStr in (annotation, *getattr(annotation, "__args__", ()))


def is_placeholder(secret: str) -> bool:
    return PLACEHOLDER_MARK in secret.lower()


def key_problem(key: str) -> str | None:
    """Why a bearer token or state key cannot be used (too short, a placeholder), or None when it can."""
    if is_placeholder(key):
        return PLACEHOLDER_REFUSED
    return TOO_SHORT if len(key) < MIN_KEY_LENGTH else None


def from_environment(env_file: Path | None = None, secrets_dir: Path | None = None) -> Settings:
    """The settings from the environment, then from `env_file`, then from `secrets_dir` (one file per variable,
    named like it, as a Kubernetes Secret is mounted). Raises ConfigError: one line naming each variable at fault."""
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"JOBCTL_ENV_FILE (or --env-file) names no readable file: {env_file}")
    if secrets_dir is not None and not secrets_dir.is_dir():
        raise ConfigError(f"JOBCTL_SECRETS_DIR (or --secrets-dir) names no directory: {secrets_dir}")
    sources: dict[str, Any] = {"_env_file": env_file, "_secrets_dir": secrets_dir}
    try:
        return Settings(**sources)
    except ValidationError as exc:
        # e["msg"] never holds the value itself, so a refused secret is not shown.
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigError(f"invalid configuration: {problems}") from None


def _variable(loc: tuple[int | str, ...]) -> str:
    first, *rest = map(str, loc)
    name = variable_name(first) if first in Settings.model_fields else first
    return ".".join([name, *rest])
