"""Credentials out of what is shown: a URL's user info and its key-, token- or secret-like
query values never reach a log line, an answer, a metric or an exception message.

No Django here: the settings use it for their own messages.
"""

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

MASK = "***"
#: Query parameters whose values are credentials, by name (`api_key`, `access_token`, ...).
SECRET_PARAMETER = re.compile(
    r"key|token|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """The URL with its user info and secret query values replaced by ***; a URL that
    cannot be parsed is not shown at all."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ for an IPv6 host, say
        return "(a URL that cannot be parsed)"
    netloc = parts.netloc.rpartition("@")[2]
    if "@" in parts.netloc:
        netloc = f"{MASK}@{netloc}"
    query = (
        "&".join(_shown_parameter(pair) for pair in parts.query.split("&")) if parts.query else ""
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def secrets_of(url: str) -> list[str]:
    """Every credential the URL holds, as written and decoded, longest first."""
    parts = urlsplit(url)
    found = [parts.username or "", parts.password or ""]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_PARAMETER.search(name):
            found += [value, quote(value, safe="")]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """`text` (an error message, say) without any credential of `url` in it."""
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text


def _shown_parameter(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={MASK}" if equals and SECRET_PARAMETER.search(name) else pair
