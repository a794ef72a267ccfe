"""Time zone names as the IANA database has them, checked without touching the disk twice."""

import zoneinfo
from functools import cache

#: The longest name the database has is 32 characters; anything much longer is not one.
LONGEST = 64


@cache
def _names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def known_zone(name: str) -> bool:
    """Whether `name` is a zone of the IANA database (as spelt there): never a path."""
    return len(name) <= LONGEST and name in _names()
