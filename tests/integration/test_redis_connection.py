"""The connections `connect` makes: the pool still never hands out one with a reply waiting."""

import time

import pytest

from eventsproject.platform.redis import connect
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix


@pytest.fixture
def client_and_key():
    require_redis()
    client = connect(REDIS_URL)
    prefix = unique_prefix()
    yield client, f"{prefix}:key"
    delete_prefix(client, prefix)
    client.close()


def test_a_clean_connection_is_reused(client_and_key) -> None:
    client, key = client_and_key
    client.set(key, "first")
    used = client.connection_pool.get_connection()
    client.connection_pool.release(used)

    assert client.get(key) == b"first"
    assert client.connection_pool.get_connection() is used


def test_a_connection_with_an_unread_reply_is_never_reused_as_it_is(client_and_key) -> None:
    client, key = client_and_key
    client.set(key, "right")
    dirty = client.connection_pool.get_connection()
    dirty.send_command("ECHO", "a stale reply")  # and never read
    time.sleep(0.1)  # for the reply to arrive
    client.connection_pool.release(dirty)

    assert client.get(key) == b"right"


def test_a_connection_the_server_closed_is_replaced(client_and_key) -> None:
    client, key = client_and_key
    client.set(key, "still here")
    closed = client.connection_pool.get_connection()
    closed.send_command("CLIENT", "ID")
    client.client_kill_filter(_id=closed.read_response())
    time.sleep(0.1)  # for the close to arrive
    client.connection_pool.release(closed)

    assert client.get(key) == b"still here"
