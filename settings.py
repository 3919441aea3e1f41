"""Settings from the environment and an optional `.env` file, checked once at start-up.

Every setting has an embedded default, so `python app.py` runs with none at all: SQLite,
the sandbox Microsoft backend and the outbox mail backend.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that may hold a secret are never repeated in an error message.
_NOT_ECHOED = ("TOKEN", "SECRET", "PASSWORD", "KEY", "DATABASE_URL", "SMTP_URL", "CERTIFICATE")
_QUOTES_ITS_ENTRIES = ("GDAP_ROLE_GROUPS",)  # its message names the bad entries already


_SANDBOX_TENANT = "00000000-0000-4000-8000-00000000c0de"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class SettingsError(Exception):
    """A setting is wrong; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    host: str = "127.0.0.1"
    port: int = Field(3978, ge=1, le=65535)
    database_url: str = "sqlite:///data/onboarding.db"
    microsoft_backend: Literal["sandbox", "live"] = "sandbox"
    mail_backend: Literal["outbox", "smtp", "graph"] = "outbox"
    partner_name: str = Field("Contoso Cloud Partner", min_length=1, max_length=100)
    partner_tenant_id: str = "00000000-0000-4000-8000-00000000c0de"
    p2p_review_url: str = "https://partner.microsoft.com/dashboard/v2/customers/list"
    page_size: int = Field(10, ge=1, le=50)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The scheduler (reminders, expiries, fallback sync, digests); see README.
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(30, ge=1, le=3600)
    sync_interval_minutes: float = Field(15, ge=0, le=1440)  # 0: no fallback sync
    # Slack: on with a bot token and a signing secret (HTTP) or an app token (Socket Mode).
    # Who may do what: admins to start with; the organisations served (comma-separated).
    bot_admins: str = ""  # slack:TEAM:USER,teams:TENANT:OBJECTID
    slack_team_ids: str = ""  # default: the workspace of SLACK_BOT_TOKEN (auth.test)
    teams_tenant_ids: str = ""  # default: MICROSOFT_APP_TENANT_ID

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = Field("https://slack.com/api/", pattern=r"^https?://")
    # Microsoft Teams (Bot Framework). None set: /api/messages accepts local clients only.
    microsoft_app_id: str = ""
    microsoft_app_password: SecretStr = SecretStr("")
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI", ""] = Field(
        "", validate_default=True
    )
    teams_bot_name: str = Field("Onboarding", min_length=1, max_length=30)
    teams_app_id: str = ""  # the Teams app's own id; derived from the bot id when empty
    teams_app_version: str = Field("1.0.0", pattern=r"^\d+\.\d+\.\d+$")
    # developer.name in the app package, at most 32 characters (the manifest schema's limit);
    # when empty, PARTNER_NAME cut to 32
    teams_developer_name: str = Field("", max_length=32)
    # Hosts the bot downloads files sent in Teams from (each with its subdomains), over HTTPS.
    teams_file_hosts: str = "sharepoint.com,sharepoint.us"
    # Where the Bot Framework's token signing keys are announced (Microsoft's public cloud).
    bot_openid_metadata_url: str = Field(
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
        pattern=r"^https?://",
    )
    teams_website_url: str = Field("https://example.com/onboarding-bot", pattern=r"^https://")
    # The bot's own address as users' browsers reach it (Teams export download links); empty:
    # http://127.0.0.1:PORT, which serves only a client on this machine.
    public_url: str = Field("", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")
    # Signs those links; empty: derived from MICROSOFT_APP_PASSWORD, else random per process.
    export_signing_key: SecretStr | None = None
    # Real mail (MAIL_BACKEND=smtp or graph); see README "Mail". Checked in this order.
    smtp_url: SecretStr | None = Field(None, validate_default=True)  # may hold a password
    smtp_starttls: bool = True  # False: STARTTLS when offered, but not required
    mail_from: str = Field("", validate_default=True)  # "Name <address>", the sender
    mail_reply_to: str = ""
    # The partner's Entra app (app-only), for MAIL_BACKEND=graph (and the live backend).
    partner_client_id: str = Field("", validate_default=True)
    partner_client_secret: SecretStr | None = None
    partner_client_certificate: SecretStr | None = Field(None, validate_default=True)
    microsoft_login_url: str = Field("https://login.microsoftonline.com", pattern=r"^https?://")
    graph_url: str = Field("https://graph.microsoft.com", pattern=r"^https?://")
    # The live Microsoft backend (MICROSOFT_BACKEND=live); see README "Go live".
    partner_center_url: str = Field(
        "https://api.partnercenter.microsoft.com", pattern=r"^https?://"
    )
    partner_reseller_link: str = Field("", pattern=r"^(https://.*)?$")
    gdap_role_groups: str = ""  # "Helpdesk Administrator=<group id>;User Administrator=<id>"
    p2p_transfer_type: int = 5  # 3 or 5: Microsoft's pages disagree (reference §5.2)
    partner_center_webhook_cert_hosts: str = "3psostorageacct.blob.core.windows.net"
    microsoft_time_budget_seconds: float = Field(15, ge=1, le=300)

    @field_validator("gdap_role_groups")
    @classmethod
    def _role_groups(cls, value: str) -> str:
        parse_role_groups(value)
        return value

    @field_validator("p2p_transfer_type")
    @classmethod
    def _transfer_type(cls, value: int) -> int:
        if value not in (3, 5):
            raise ValueError("use 5 (new commerce, the default) or 3")
        return value

    @field_validator("partner_center_webhook_cert_hosts")
    @classmethod
    def _cert_hosts(cls, value: str) -> str:
        hosts = [h.strip() for h in value.split(",") if h.strip()]
        bad = [h for h in hosts if not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?", h)]
        if bad:
            raise ValueError(f"{bad[0][:60]!r} is not a host or host:port")
        return value

    @property
    def role_groups(self) -> dict[str, str]:
        """GDAP_ROLE_GROUPS as the domain takes it: role template id -> group object id."""
        return parse_role_groups(self.gdap_role_groups)

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        from adapters.mail.smtp import parse_smtp_url

        if value is None or not value.get_secret_value().strip():
            if info.data.get("mail_backend") == "smtp":
                raise ValueError("MAIL_BACKEND=smtp needs it: smtp://USER:PASSWORD@HOST:587")
            return None
        parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _mailbox(cls, value: str, info: ValidationInfo) -> str:
        from adapters.mail.mime import parse_mailbox

        value = value.strip()
        if not value:
            backend = info.data.get("mail_backend")
            if info.field_name == "mail_from" and backend in ("smtp", "graph"):
                raise ValueError(
                    f"MAIL_BACKEND={backend} needs the sender, e.g. "
                    "Fabrikam Onboarding <onboarding@fabrikam.com>"
                )
            return ""
        parse_mailbox(value)
        return value

    @field_validator("partner_client_id")
    @classmethod
    def _graph_app(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("mail_backend") == "graph":
            if not value.strip():
                raise ValueError("MAIL_BACKEND=graph needs the partner's Entra app id")
            tenant = str(info.data.get("partner_tenant_id", ""))
            if tenant == _SANDBOX_TENANT:
                raise ValueError(
                    "MAIL_BACKEND=graph needs PARTNER_TENANT_ID, your partner tenant's id "
                    "(it is the sandbox's)"
                )
        return value.strip()

    @field_validator("partner_client_certificate")
    @classmethod
    def _graph_credential(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip():
            # only with a certificate: the module brings httpx, which start-up does not need
            from adapters.microsoft.live.tokens import certificate_credential

            certificate_credential(value.get_secret_value().strip())
            return SecretStr(value.get_secret_value().strip())
        secret = info.data.get("partner_client_secret")
        if info.data.get("mail_backend") == "graph" and not (secret and secret.get_secret_value()):
            raise ValueError(
                "MAIL_BACKEND=graph needs PARTNER_CLIENT_CERTIFICATE (PEM with the key) "
                "or PARTNER_CLIENT_SECRET"
            )
        return None

    @field_validator("microsoft_app_type", mode="before")
    @classmethod
    def _app_type_any_case(cls, value: object) -> object:
        known = {
            "multitenant": "MultiTenant",
            "singletenant": "SingleTenant",
            "userassignedmsi": "UserAssignedMSI",
        }
        return known.get(str(value).strip().lower(), value) if value else ""

    @field_validator("microsoft_app_type")
    @classmethod
    def _app_credentials_complete(cls, value: str, info: ValidationInfo) -> str:
        app_id = info.data.get("microsoft_app_id", "")
        password = info.data.get("microsoft_app_password", SecretStr("")).get_secret_value()
        tenant = info.data.get("microsoft_app_tenant_id", "")
        if password and not app_id:
            raise ValueError("MICROSOFT_APP_PASSWORD is set but MICROSOFT_APP_ID is not")
        if app_id and not password and value != "UserAssignedMSI":
            raise ValueError("MICROSOFT_APP_ID needs MICROSOFT_APP_PASSWORD (the client secret)")
        if value in ("SingleTenant", "UserAssignedMSI") and not tenant:
            raise ValueError(f"{value} needs MICROSOFT_APP_TENANT_ID")
        return value

    @property
    def teams_app_type(self) -> str:
        """SingleTenant when a tenant id is set (Azure creates new bots single-tenant),
        else MultiTenant; MICROSOFT_APP_TYPE overrides."""
        if self.microsoft_app_type:
            return self.microsoft_app_type
        return "SingleTenant" if self.microsoft_app_tenant_id else "MultiTenant"

    @property
    def link_base_url(self) -> str:
        """Where download links point: PUBLIC_URL, else this machine at PORT."""
        return self.public_url.rstrip("/") or f"http://127.0.0.1:{self.port}"

    @property
    def slack_enabled(self) -> bool:
        """A bot token plus a way in: the signing secret (HTTP) or the app token (Socket Mode)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @field_validator("bot_admins")
    @classmethod
    def _admin_identities(cls, value: str) -> str:
        from bot.access import parse_identity

        for item in (v for v in value.split(",") if v.strip()):
            try:
                parse_identity(item)
            except Exception:
                raise ValueError(
                    f"{item.strip()[:60]!r} is not slack:TEAM:USER or teams:TENANT:OBJECTID"
                ) from None
        return value

    @property
    def admin_identities(self) -> frozenset[str]:
        from bot.access import parse_identity

        return frozenset(parse_identity(v) for v in self.bot_admins.split(",") if v.strip())

    @property
    def organisations(self) -> dict[str, frozenset[str]]:
        """The Slack workspaces and Teams tenants served, as configured (Slack's default, the
        token's own workspace, is added at start-up once `auth.test` has answered)."""
        teams = {t.strip() for t in self.teams_tenant_ids.split(",") if t.strip()}
        if not teams and self.microsoft_app_tenant_id:
            teams = {self.microsoft_app_tenant_id}
        slack = {t.strip() for t in self.slack_team_ids.split(",") if t.strip()}
        return {"slack": frozenset(slack), "teams": frozenset(teams)}

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
        return value


def parse_role_groups(value: str) -> dict[str, str]:
    """`Helpdesk Administrator=<group object id>;User Administrator=<id>`: a role (its name
    in any case, or its template id) to the partner security group that gets it. Several
    roles may share a group; a role has one group. ValueError names every bad entry."""
    from bot.gdap_roles import find_role

    mapping: dict[str, str] = {}
    problems: list[str] = []
    for entry in (e.strip() for e in re.split(r"[;\n]", value)):
        if not entry:
            continue
        role_text, equals, group = (part.strip() for part in entry.partition("="))
        role = find_role(role_text)
        if not equals:
            problems.append(f"{entry[:60]!r} is not ROLE=GROUP ID")
        elif role is None:
            problems.append(
                f"{role_text[:60]!r} is not a GDAP role the bot offers "
                "(a name such as Helpdesk Administrator, or its template id)"
            )
        elif not _GUID.match(group):
            problems.append(f"the group of {role.name} ({group[:60]!r}) is not an object id (GUID)")
        elif role.id in mapping:
            problems.append(f"{role.name} is mapped twice")
        else:
            mapping[role.id] = group.lower()
    if problems:
        raise ValueError("; ".join(problems))
    return mapping


def live_problems(settings: Settings) -> list[str]:
    """With MICROSOFT_BACKEND=live, each setting that is missing or wrong, one line each,
    naming it and what it is for. The sandbox needs none of them."""
    if settings.microsoft_backend != "live":
        return []
    lines = []
    tenant = settings.partner_tenant_id.strip()
    if not tenant or tenant == _SANDBOX_TENANT:
        lines.append(
            "Setting PARTNER_TENANT_ID is missing: your partner tenant's id (Entra admin center "
            "> Overview > Tenant ID), where the bot's app signs in and GDAP is requested."
        )
    elif not _GUID.match(tenant):
        lines.append(
            f"Setting PARTNER_TENANT_ID is wrong: {tenant[:60]!r} is not a tenant id (GUID)."
        )
    client = settings.partner_client_id.strip()
    if not client:
        lines.append(
            "Setting PARTNER_CLIENT_ID is missing: the Application (client) ID of your "
            "single-tenant Entra app that calls Graph and Partner Center."
        )
    elif not _GUID.match(client):
        lines.append(
            f"Setting PARTNER_CLIENT_ID is wrong: {client[:60]!r} is not an app id (GUID)."
        )
    secret = settings.partner_client_secret
    if settings.partner_client_certificate is None and not (secret and secret.get_secret_value()):
        lines.append(
            "Setting PARTNER_CLIENT_CERTIFICATE is missing: the app's credential, a PEM file "
            "(or PEM text) with its private key and certificate; or PARTNER_CLIENT_SECRET."
        )
    for name, url in (
        ("MICROSOFT_LOGIN_URL", settings.microsoft_login_url),
        ("GRAPH_URL", settings.graph_url),
        ("PARTNER_CENTER_URL", settings.partner_center_url),
    ):
        if not url.startswith("https://"):
            lines.append(
                f"Setting {name} is wrong: the live backend talks to Microsoft over https only."
            )
    if not settings.partner_center_webhook_cert_hosts.strip():
        lines.append(
            "Setting PARTNER_CENTER_WEBHOOK_CERT_HOSTS is missing: the hosts Partner Center's "
            "webhook signing certificates come from (3psostorageacct.blob.core.windows.net)."
        )
    return lines


def load_settings(*, check_live: bool = True) -> Settings:
    """The settings, or SettingsError with one line per setting that is wrong or missing
    (`check_live=False`: what MICROSOFT_BACKEND=live still lacks is left to the caller)."""
    try:
        settings = Settings()
    except ValidationError as err:
        lines = []
        for error in err.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            shown = (
                ""
                if any(word in name for word in _NOT_ECHOED) or name in _QUOTES_ITS_ENTRIES
                else f" (got {error.get('input')!r})"
            )
            msg = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"Setting {name} is wrong: {msg}{shown}.")
        raise SettingsError("\n".join(lines)) from None
    problems = live_problems(settings) if check_live else []
    if problems:
        raise SettingsError("\n".join(problems))
    return settings
