"""Time zone names as the IANA database has them, read once (no Django here: the rules file's
check runs before Django starts)."""

import zoneinfo
from functools import cache


@cache
def known_zones() -> frozenset[str]:
    """The tz database's zone names, read once: a name a client sends is looked up in a set,
    never opened as a file. `localtime` is the server's own zone, no user's."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})
