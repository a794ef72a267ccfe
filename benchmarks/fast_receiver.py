"""A fast stand-in for `/v1/notify`: answers `202` to every POST on keep-alive connections,
and nothing else. One asyncio process reading bytes, so that a delivery benchmark measures
the sender, not the receiver. On SIGTERM it prints how many requests it answered.

Usage: python -m benchmarks.fast_receiver --port 8001
"""

import argparse
import asyncio
import signal

ANSWER = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class _Answering(asyncio.Protocol):
    answered = 0
    delay = 0.0  # seconds before each answer, as a real service would take

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := _request_length(self.buffer)) is not None:
            del self.buffer[:request]
            _Answering.answered += 1
            answer = self.transport.write  # type: ignore[attr-defined]
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, answer, ANSWER)
            else:
                answer(ANSWER)


def _request_length(buffer: bytearray) -> int | None:
    """The length of the complete request at the start of `buffer`, else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).lower()
    marker = head.find(b"\r\ncontent-length:")
    length = 0 if marker < 0 else int(head[marker + 17 :].split(b"\r\n", 1)[0])
    total = head_end + 4 + length
    return total if len(buffer) >= total else None


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stopped.set_result, None)
    server = await loop.create_server(_Answering, "127.0.0.1", port, backlog=1024)
    async with server:
        await stopped
    print(_Answering.answered, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    _Answering.delay = args.delay
    asyncio.run(serve(args.port))
