"""Credentials kept out of every results file and the console. Pure (one process-wide set).

- :func:`split_userinfo` takes ``user:password@`` out of a URL: the URL to show and send to,
  and the credentials to send as a header instead;
- :func:`redact` masks, in any text that reaches a file or the console (failure reasons,
  headers and bodies a server sent back, log lines), the secrets in use (:func:`add_secret`:
  the API key, a password) and whatever looks like one: the value of an ``Authorization``,
  ``Cookie`` or ``*-Key`` / ``*-Token`` header, a ``Bearer`` or ``Basic`` credential.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
#: The environment variable that carries ``--host``'s ``user:password`` from the runner to the
#: Locust processes (never a command line, which Locust and ``ps`` show).
HOST_AUTH_ENV = "AGENTLOAD_HOST_AUTH"
_SECRETS: set[str] = set()
_MIN_SECRET = 4  # shorter values would mask ordinary words
_PATTERNS = re.compile(
    r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"
    r"|\b((?:proxy-)?authorization|cookie|set-cookie|[\w-]*(?:api[-_]?key|-key|-token))"
    r"(\s*[:=]\s*|['\"]\s*[:=]\s*['\"]?)((?:(?:Bearer|Basic|Token)\s+)?[^\s'\",;)}]+)"
)


def add_secret(*values: str) -> None:
    """Mask ``values`` (and their URL-encoded and base64 forms) from now on."""
    for value in values:
        if value and len(value) >= _MIN_SECRET:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` with every known secret and credential-looking value masked."""
    if not text:
        return text
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, MASK)
    return _PATTERNS.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)} {MASK}"
    return f"{match.group(2)}{match.group(3)}{MASK}"


def split_userinfo(url: str) -> tuple[str, str]:
    """``url`` without ``user:password@``, and ``"user:password"`` (unquoted; "" if none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, ""
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    credentials = f"{unquote(user)}:{unquote(password)}"
    add_secret(unquote(password), password, userinfo)
    return urlunsplit(parts._replace(netloc=hostport)), credentials


def basic_header(credentials: str) -> str:
    """The ``Authorization`` value of ``user:password`` (masked from now on)."""
    token = base64.b64encode(credentials.encode("latin-1", "replace")).decode("ascii")
    add_secret(token)
    return f"Basic {token}"


def shown_url(url: str) -> str:
    """``url`` with its user-info shown as ``***@``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{MASK}@{parts.netloc.rpartition('@')[2]}"))
