"""Settings from the environment and an optional `.env` file, checked once at start-up.

Every setting has an embedded default, so `python app.py` runs with none at all: SQLite,
the sandbox Microsoft backend and the outbox mail backend.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that may hold a secret are never repeated in an error message.
_NOT_ECHOED = ("TOKEN", "SECRET", "PASSWORD", "KEY", "DATABASE_URL")


class SettingsError(Exception):
    """A setting is wrong; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", case_sensitive=False)

    host: str = "127.0.0.1"
    port: int = Field(3978, ge=1, le=65535)
    database_url: str = "sqlite:///data/onboarding.db"
    microsoft_backend: Literal["sandbox"] = "sandbox"
    mail_backend: Literal["outbox"] = "outbox"
    partner_name: str = Field("Contoso Cloud Partner", min_length=1, max_length=100)
    partner_tenant_id: str = "00000000-0000-4000-8000-00000000c0de"
    p2p_review_url: str = "https://partner.microsoft.com/dashboard/v2/customers/list"
    page_size: int = Field(10, ge=1, le=50)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
        return value


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        first = err.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        shown = "" if any(word in name for word in _NOT_ECHOED) else (
            f" (got {first.get('input')!r})")
        raise SettingsError(f"Setting {name} is wrong: {first['msg']}{shown}.") from None
