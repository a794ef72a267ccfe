"""A small closed-loop HTTP load generator: keep-alive connections on loopback, bounded in time."""

import http.client
import threading
import time
from dataclasses import dataclass
from itertools import islice


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(
    host: str, port: int, path: str, bodies: list[bytes], connections: int, seconds: float
) -> LoadResult:
    """POST the bodies (each once, split over the connections) until done or time is up."""
    deadline = time.monotonic() + seconds
    results: list[tuple[int, int, list[float]]] = []
    lock = threading.Lock()

    def worker(share: list[bytes]) -> None:
        outcome = _post_all(host, port, path, share, deadline)
        with lock:
            results.append(outcome)

    shares = [list(islice(bodies, n, None, connections)) for n in range(connections)]
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return LoadResult(
        requests=sum(done for done, _, _ in results),
        errors=sum(errors for _, errors, _ in results),
        seconds=elapsed,
        latencies=[latency for _, _, latencies in results for latency in latencies],
    )


def _post_all(
    host: str, port: int, path: str, bodies: list[bytes], deadline: float
) -> tuple[int, int, list[float]]:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    done = errors = 0
    latencies = []
    for body in bodies:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            failed = response.status >= 300
        except (OSError, http.client.HTTPException):
            connection.close()  # reconnects on the next request
            failed = True
        latencies.append(time.perf_counter() - started)
        done += 1
        errors += failed
    connection.close()
    return done, errors, latencies
