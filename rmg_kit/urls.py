"""Refusing credentials written into a URL setting.

A URL is printed in errors and logs and stored with every score (a judge's
``base_url`` is part of its result metadata), so a key inside it
(``https://user:pass@host``, ``?api-key=...``) would leak everywhere.  A URL
setting that carries one is refused with a message saying where the key goes.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import parse_qsl, urlsplit

from rmg_core import ConfigError

#: Query parameter names (lower case, without ``-``, ``_`` and ``.``) that carry a credential.
_SECRET_PARAMS = frozenset("key apikey token accesstoken auth authorization password passwd pwd secret clientsecret "
                           "sig signature credential credentials sessionid code".split())


def _is_secret_param(name: str) -> bool:
    flat = re.sub(r"[-_.\s]", "", name.lower())
    return flat in _SECRET_PARAMS or any(word in flat for word in ("key", "token", "secret", "password"))


def redact_url(url: str) -> str:
    """``url`` with its user info and query values replaced by ``***`` (safe to print)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "" if parts.port is None else f"{parts.hostname}:{parts.port}"
    except ValueError:
        return "<unparseable URL>"
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    userinfo = "***@" if parts.username or parts.password else ""
    return f"{parts.scheme}://{userinfo}{host}{parts.path}" + (f"?{query}" if query else "")


def url_credentials_problem(url: str, key_goes: str) -> Optional[str]:
    """Why ``url`` must be refused (it carries a credential), or None; for a pydantic validator.

    ``key_goes`` says where the key belongs instead (``"setting 'api_key' or
    the environment variable OPENAI_API_KEY"``).  The text never repeats the secret.
    """
    try:
        parts = urlsplit(url)
        found = ["a user name or password before '@'"] if parts.username or parts.password else []
    except ValueError:
        return None  # not a URL at all: the setting's own validation says so
    params = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if _is_secret_param(name)]
    found += ["query parameter(s) " + ", ".join(repr(n) for n in params)] if params else []
    if not found:
        return None
    return (f"the URL {redact_url(url)} carries a credential ({' and '.join(found)}); a URL is printed and "
            f"stored with the scores, so it must not hold one. Remove it from the URL and give the key through {key_goes}")


def check_url_has_no_credentials(url: str, setting: str, key_goes: str) -> str:
    """Return ``url`` unchanged, or raise `ConfigError` (``"SETTING: the URL ... carries a credential"``).

    ``setting`` names the setting in the user's terms (``"graders.relevance.base_url"``).
    """
    problem = url_credentials_problem(url, key_goes)
    if problem is not None:
        raise ConfigError(f"{setting}: {problem}")
    return url
