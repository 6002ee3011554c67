"""One settings object, read from the environment with the ``SIYU_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=".env", extra="ignore")

    #: SQLAlchemy URL. Default: embedded SQLite under ./var/.
    database_url: str = "sqlite:///./var/siyu.db"
    #: Signs session cookies and derives the key that encrypts secrets at rest. Change in production.
    secret_key: str = "siyu-dev-secret-change-me"
    #: Base URL of the WeCom server API (the emulator in the demo).
    wecom_api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    #: WeCom calls per corp per minute / hour this process allows itself (WeCom: 10 000 / 150 000 per API).
    wecom_calls_per_minute: int = 6000
    wecom_calls_per_hour: int = 120_000
    #: Seconds before a WeCom call times out.
    wecom_timeout_seconds: float = 10.0
    #: Public base URL of this service, used to build callback URLs.
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    default_language: str = "zh-CN"
    #: Seconds a worker holds a claimed job before another worker may take it over.
    job_lease_seconds: float = 60.0
    #: How many jobs a worker claims at once.
    job_batch_size: int = 20
    #: Seconds a worker sleeps when it found nothing to do.
    worker_idle_seconds: float = 0.5
    job_max_attempts: int = 8
    #: Extra modules to import for job handlers (comma-separated); used by tests and plug-ins.
    job_modules: str = ""
    login_max_failures: int = 5
    login_window_seconds: int = 900
    session_max_age_seconds: int = 14 * 24 * 3600
    #: Cookies marked Secure (set true behind HTTPS).
    secure_cookies: bool = False
    log_level: str = "INFO"
    var_dir: Path = Field(default=Path("./var"))


@lru_cache
def get_settings() -> Settings:
    return Settings()
