"""What any store may say that the rest of the service answers for (the apps' ports.py
expose them): it cannot be reached now, or it holds all it may."""


class StoreUnavailable(RuntimeError):
    """The store does not answer, or not in time: nothing was half written (each unit of
    work is committed whole or not at all), so a retry later is safe."""


class StoreFull(RuntimeError):
    """The store holds as many users as it may (EVENTS_MEMORY_MAX_USERS)."""
