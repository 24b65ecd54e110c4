"""Per-environment configuration, chosen by name in ``create_app``."""

from __future__ import annotations

import os


class Config:
    """Settings shared by every environment; environment variables override the defaults."""

    GREETING = os.environ.get("HELLO_GREETING", "Hello from Flask")
    # The role writes the live release name into the service's environment.
    RELEASE = os.environ.get("FLASK_APP_RELEASE", "unreleased")
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # /slow?seconds=N answers after N seconds (at most 30): for graceful-stop tests only.
    SLOW_ENDPOINT = os.environ.get("HELLO_SLOW_ENDPOINT") == "1"
    DEBUG = False
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "development-only-key"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-key"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
