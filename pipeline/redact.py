"""Hide credentials in everything mlgate shows or stores: messages, reports, MLflow tags/params, the logged config.

A data source or tracking store URL may carry a password (``postgresql+psycopg://user:secret@host/db``) or a
secret query parameter (``?sslpassword=…``, ``?token=…``). Connections use the real URL; every *display* of it
goes through this module:

- :func:`redact_url` for a value that is a URL: SQLAlchemy's own ``make_url(url).render_as_string(
  hide_password=True)`` plus secret query parameters replaced, then :func:`redact_text` as a safety net (and the
  only tool when the value is not an SQLAlchemy URL);
- :func:`redact_text` for free text (an error message from a driver, a rendered report, a config file): a regex
  for ``scheme://user:password@`` and for ``password=``/``token=``-style parameters, plus any exact secret the
  caller knows (a password taken from the environment, say) wherever it appears;
- :func:`url_secrets` to get those exact secrets out of a URL.

A ``${NAME}`` reference in place of a password (resolved from the environment at connect time, see
``pipeline.sql_source``) is not a secret and is shown as written. Redaction is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:  # sqlalchemy is imported only when a URL is parsed
    from sqlalchemy.engine import URL

__all__ = ["REDACTED", "is_env_reference", "redact_text", "redact_url", "url_secrets"]

REDACTED = "***"

#: Query-parameter names whose values are secrets (matched case-insensitively, anywhere in the name).
_SECRET_PARAM = r"[A-Za-z0-9_.\-]*(?:pass|pwd|secret|token|api[_\-]?key|credential|signature)[A-Za-z0-9_.\-]*|sig|key"
_SECRET_PARAM_RE = re.compile(rf"(?i)^(?:{_SECRET_PARAM})$")
#: ``scheme://user:password@`` (the password may hold anything but whitespace and quotes; greedy up to the last
#: ``@`` of the token, so an unencoded ``@`` inside the password is hidden too).
_USERINFO_RE = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:@/'\"<>]*:)(?P<secret>[^\s'\"<>]*)@")
#: ``password=…`` after ``?``, ``&`` or ``;`` (``&amp;`` in HTML ends with ``;``) or at a word start in text.
_PARAM_RE = re.compile(rf"(?i)(?P<head>(?:[?&;]|\b)(?:{_SECRET_PARAM})=)(?P<secret>[^&\s'\"<>#]+)")
_ENV_REF_RE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def is_env_reference(value: str) -> bool:
    """True for a value that is exactly one ``${NAME}`` reference (not a secret: the secret is in the environment)."""
    return _ENV_REF_RE.fullmatch(value) is not None


def _hide(match: re.Match[str]) -> str:
    secret = match.group("secret")
    if secret == REDACTED or is_env_reference(secret):
        return match.group(0)
    return match.group("head") + REDACTED + match.group(0)[match.end("secret") - match.start(0) :]


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, secret parameters and each of ``secrets`` (4+ characters) replaced by ``***``.

    ``secrets`` are also hidden in their URL-encoded forms. Shorter secrets are not searched for (replacing every
    "ab" would mangle the text); the regexes still hide them inside URLs.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        for form in dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret))):
            text = text.replace(form, REDACTED)
    text = _USERINFO_RE.sub(_hide, text)
    return _PARAM_RE.sub(_hide, text)


def _parse(url: str) -> URL | None:
    if "://" not in url:  # no scheme: not an SQLAlchemy URL (a file path), no need to import sqlalchemy to say so
        return None
    try:
        from sqlalchemy.engine import make_url

        return make_url(url)
    except Exception:  # not an SQLAlchemy URL (a file path, a malformed string): text redaction only
        return None


def url_secrets(url: str) -> list[str]:
    """The secrets written in ``url``: its password and the values of secret query parameters."""
    found = [m.group("secret") for m in _USERINFO_RE.finditer(url)]
    found += [m.group("secret") for m in _PARAM_RE.finditer(url)]
    parsed = _parse(url)
    if parsed is not None:
        if parsed.password:
            found.append(str(parsed.password))
        for key, value in parsed.query.items():
            if _SECRET_PARAM_RE.match(key):
                found += [value] if isinstance(value, str) else list(value)
    return [s for s in dict.fromkeys(found) if s and s != REDACTED and not is_env_reference(s)]


def redact_url(url: str) -> str:
    """``url`` as it may be shown: password and secret query values replaced by ``***``; otherwise unchanged."""
    parsed = _parse(url)
    if parsed is None or not url_secrets(url):
        return redact_text(url)
    password = str(parsed.password) if parsed.password is not None else None
    query = {key: (REDACTED if _SECRET_PARAM_RE.match(key) else value) for key, value in parsed.query.items()}
    rendered = parsed.set(query=query).render_as_string(hide_password=True).replace("%2A%2A%2A", REDACTED)
    if password is not None and is_env_reference(password):
        rendered = rendered.replace(f":{REDACTED}@", f":{password}@", 1)
    return redact_text(rendered, url_secrets(url))
