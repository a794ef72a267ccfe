"""Real Redis for tests: the machine's on 127.0.0.1:6379, or servers of their own.

A test that needs Redis skips with one line when it does not answer, except
under `CI=true`, where it fails: CI must not pass without having run them.
"""

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.wire import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis(url: str = REDIS_URL) -> redis.Redis:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} does not answer ({error}), and CI needs it")
        pytest.skip(f"Redis at {url} does not answer: start it (see README) to run this test")
    return client


def unique_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def free_cluster_port() -> int:
    """A free port whose cluster bus port (10,000 higher) is free too, as a node needs."""
    chooser = random.Random()
    while True:
        port = chooser.randrange(20_000, 45_000)
        if all(_is_free(candidate) for candidate in (port, port + 10_000)):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class OwnRedis:
    """A redis-server of the test's own on a free loopback port, which it may stop and
    start again (with `--appendonly yes`, what it held comes back)."""

    def __init__(self, directory: Path, *options: str, port: int = 0) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._command = [
            server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--dir", str(directory), *options,
        ]  # fmt: skip
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> "OwnRedis":
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for(self.port)
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


@contextmanager
def own_redis(directory: Path, *options: str) -> Iterator[OwnRedis]:
    server = OwnRedis(directory, *options).start()
    try:
        yield server
    finally:
        server.stop()


def _wait_for(port: int) -> None:
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not start")


@contextmanager
def own_cluster(directory: Path, masters: int = 3) -> Iterator[str]:
    """A local Redis Cluster of `masters` masters and no replicas; yields a node's URL."""
    cluster_options = ("--cluster-enabled", "yes", "--appendonly", "no")
    servers = [
        OwnRedis(
            directory,
            *cluster_options,
            "--cluster-config-file",
            f"nodes-{n}.conf",
            port=free_cluster_port(),
        )
        for n in range(masters)
    ]
    try:
        for server in servers:
            server.start()
        nodes = [f"127.0.0.1:{server.port}" for server in servers]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0",
             "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        _wait_for_cluster(servers)
        yield servers[0].url
    finally:
        for server in servers:
            server.stop()


def _wait_for_cluster(servers: list[OwnRedis]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = [
            redis.Redis(port=server.port).cluster("info").get("cluster_state") for server in servers
        ]
        if all(state == "ok" for state in states):
            return
        time.sleep(0.1)
    raise RuntimeError("the local Redis Cluster did not come up")
