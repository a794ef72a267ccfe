from datetime import UTC, datetime

import pytest
from django.utils import timezone


@pytest.fixture
def server_time(monkeypatch) -> datetime:
    """The server's clock, stopped at noon on 2026-12-02."""
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)
    return noon


@pytest.fixture
def production_access(settings):
    """Production mode's access: no one without a token; an app's and an operator's."""
    settings.DEBUG = False
    settings.EVENTS_ALLOW_ANONYMOUS = False
    settings.EVENTS_API_TOKENS = ["app-token"]
    settings.EVENTS_ADMIN_TOKENS = ["admin-token"]
