"""The production worker's connection: reads during a request end when the request's time
is up, and the worker then closes the connection."""

import socket
from types import SimpleNamespace

import pytest
from gunicorn.config import Config  # type: ignore[import-untyped]

from eventsproject import gunicorn as production_config
from eventsproject.platform.workers import TimeLimitedSocket


@pytest.fixture
def connection():
    server_side, client_side = socket.socketpair()
    yield TimeLimitedSocket(server_side, limit=0.2), client_side
    server_side.close()
    client_side.close()


def gunicorn_request():
    return SimpleNamespace(must_close=False)


def test_a_request_whose_body_does_not_come_runs_out_of_time_and_is_closed(connection):
    limited, _ = connection
    request = gunicorn_request()
    limited.start_request(request)

    with pytest.raises(TimeoutError):
        limited.recv(10)

    assert request.must_close is True


def test_a_request_that_arrives_in_time_is_read_and_kept_alive(connection):
    limited, client = connection
    request = gunicorn_request()
    limited.start_request(request)
    client.sendall(b"body")

    assert limited.recv(10) == b"body"
    assert request.must_close is False


def test_a_request_past_its_time_reads_nothing_more_even_if_it_comes(connection):
    limited, client = connection
    limited.start_request(gunicorn_request())
    limited._deadline -= 1  # the request's time is up
    client.sendall(b"late")

    with pytest.raises(TimeoutError, match=r"did not arrive within 0\.2 s"):
        limited.recv(10)


def test_the_production_logger_spends_nothing_on_gunicorn_s_access_log():
    config = Config()
    config.set("logger_class", production_config.logger_class)
    config.set("logconfig_dict", production_config.logconfig_dict)
    logger = config.logger_class(config)

    # The service logs each request itself (eventsproject/observability.py).
    assert not logger.access_log_enabled
