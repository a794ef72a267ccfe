"""A replay runs with the cycle collector paused, and leaves it as it found it."""

import gc

import pytest

from events.service.ingestion import replaying


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_during_a_replay_and_then_as_it_was(enabled):
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with replaying():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_collector_resumes_when_a_replay_fails():
    assert gc.isenabled()

    with pytest.raises(RuntimeError), replaying():
        raise RuntimeError("the store is full")

    assert gc.isenabled()
