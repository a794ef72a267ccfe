"""Errors Django answers itself, before or after any view, are JSON like the API's."""

from django.test import Client

from eventsproject.web.error_pages import server_error


def test_an_unknown_path_is_a_json_404():
    answer = Client().get("/v1/nope")

    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert "/v1/docs" in answer.json()["detail"]


def test_a_host_not_allowed_is_a_json_400_naming_the_setting():
    answer = Client().get("/v1/health", HTTP_HOST="evil.example")

    assert answer.status_code == 400
    assert "ALLOWED_HOSTS" in answer.json()["detail"]


def test_an_error_no_view_caught_is_a_json_500_without_details(rf):
    answer = server_error(rf.get("/v1/event"))

    assert answer.status_code == 500
    assert answer.content == b'{"detail": "Server error."}'
