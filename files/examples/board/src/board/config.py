"""Per-environment configuration, chosen by name in ``create_app``."""

from __future__ import annotations

import os
from typing import ClassVar


class Config:
    """Settings shared by every environment; the environment overrides the defaults."""

    # The role writes the live release name into the service's environment.
    RELEASE = os.environ.get("FLASK_APP_RELEASE", "unreleased")
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # postgresql+psycopg://user:password@host/database, from the role's secret env file.
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    # A pooled connection the database closed (restart, failover) is replaced, not served.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, bool]] = {"pool_pre_ping": True}
    # redis://:password@host:6379/0: the queue the RQ workers of every host consume.
    REDIS_URL: str | None = os.environ.get("REDIS_URL")
    DEBUG = False
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = True
    SECRET_KEY = Config.SECRET_KEY or "development-only-key"
    SQLALCHEMY_DATABASE_URI = Config.SQLALCHEMY_DATABASE_URI or "sqlite:///board-dev.sqlite"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, bool]] = {}


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    PREFERRED_URL_SCHEME = "https"


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
