"""The feature policy, a schema-layer data check: which columns may be model inputs (``schema.feature_policy``).

``features.deny`` lists columns that may be in the data (a sensitive attribute kept for the balance audit, a
free-text note) but must never feed the model; ``features.allow``, when given, lists the only columns that may.
A feature that is denied, or not allowed, FAILS (blocking) naming it. Without an allow list, a feature whose
NAME or VALUES look like personal data WARNS (non-blocking): names made of tokens such as ``email``, ``phone``,
``name``, ``ssn``, ``ip`` (``customer_email``, ``PhoneNumber``, ``first_name``), or string values of which at
least half look like e-mail addresses, phone numbers or IPv4 addresses (the first :data:`SAMPLE` values, so
the verdict is deterministic). Listing the column in ``features.allow`` says it is meant; ``features.deny``
plus ``features.exclude`` keeps it out. A denied name absent from the data WARNS: a misspelt deny list protects
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from mlgate.checks.result import CheckResult, Reason, Status
from mlgate.pipeline.config import FeatureSettings

__all__ = ["PERSONAL_NAMES", "SAMPLE", "check_feature_policy", "personal_data_reason"]

LAYER = "schema"
#: Name tokens (or whole names, separators removed) that suggest personal data.
PERSONAL_NAMES = frozenset(
    {
        "email", "mail", "phone", "telephone", "tel", "mobile", "name", "firstname", "lastname", "surname",
        "fullname", "username", "ssn", "socialsecuritynumber", "ip", "ipaddress", "address", "passport",
        "iban", "dob", "birthdate", "dateofbirth",
    }
)  # fmt: skip
#: How many non-missing values of a string column are matched against the personal-data patterns.
SAMPLE = 1000
_PATTERNS = {
    "e-mail addresses": re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    "phone numbers": re.compile(r"^\+?[\d\s().\-/]+$"),
    "IPv4 addresses": re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}$"),
}
_MIN_PHONE_DIGITS = 9  # an ISO date (2024-05-01) has 8 digits; a phone number with its area code has more


def _name_tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", spaced) if t]
    return {*tokens, "".join(tokens)}


def _matches(kind: str, value: str) -> bool:
    if not _PATTERNS[kind].match(value):
        return False
    return kind != "phone numbers" or sum(ch.isdigit() for ch in value) >= _MIN_PHONE_DIGITS


def personal_data_reason(name: str, column: pd.Series) -> str | None:
    """Why column ``name`` looks like personal data (its name, or most of its first string values), or None."""
    hits = sorted(_name_tokens(str(name)) & PERSONAL_NAMES)
    if hits:
        return f"its name contains '{hits[0]}'"
    is_text = isinstance(column.dtype, pd.StringDtype) or (
        column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string"
    )
    if not is_text:
        return None
    values = [str(v).strip() for v in column.dropna().head(SAMPLE)]
    if not values:
        return None
    for kind in _PATTERNS:
        share = sum(_matches(kind, v) for v in values) / len(values)
        if share >= 0.5:
            return f"{share:.0%} of its first {len(values)} values look like {kind}"
    return None


def _listed(names: Sequence[str], limit: int = 15) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _result(name: str, status: Status, message: str, *, reason: Reason, blocking: bool) -> CheckResult:
    return CheckResult(
        f"{LAYER}.feature_policy[{name}]",
        LAYER,
        status,
        message,
        blocking=blocking,
        details={"column": name},
        reason=reason,
    )


def check_feature_policy(
    frame: pd.DataFrame, features: Sequence[str], columns: Sequence[str], settings: FeatureSettings
) -> list[CheckResult]:
    """Judge the model's ``features`` (columns of ``frame``) against ``settings.deny``/``allow``; ``columns`` are the
    data's own columns (a denied name not among them is reported). One PASS when nothing is flagged."""
    results: list[CheckResult] = []
    allow = settings.allow
    for name in features:
        if name in settings.deny:
            text = (
                f"feature '{name}' is a model input but features.deny lists it (it may be in the data, never an "
                "input); leave it out with features.exclude (or drop it from features.include)"
            )
            results.append(_result(name, Status.FAIL, text, reason=Reason.DENIED_FEATURE, blocking=True))
        elif allow is not None and name not in allow:
            text = (
                f"feature '{name}' is a model input but not in features.allow ({', '.join(allow)}); add it there "
                "if it is meant, or leave it out (features.exclude)"
            )
            results.append(_result(name, Status.FAIL, text, reason=Reason.DENIED_FEATURE, blocking=True))
        elif allow is None and (why := personal_data_reason(name, frame[name])) is not None:
            text = (
                f"feature '{name}' looks like personal data ({why}); if the model may use it list it in "
                "features.allow, else deny it (features.deny) and leave it out (features.exclude)"
            )
            results.append(_result(name, Status.WARN, text, reason=Reason.PERSONAL_DATA, blocking=False))
    for name in settings.deny:
        if name not in columns:
            text = (
                f"features.deny names '{name}', which is not a column of the data (columns: {_listed(columns)}): "
                "a misspelt deny list protects nothing"
            )
            results.append(_result(name, Status.WARN, text, reason=Reason.INVALID_CONFIG, blocking=False))
    if results:
        return results
    denied = f"; features.deny kept out: {', '.join(settings.deny)}" if settings.deny else ""
    scope = "all in features.allow" if allow is not None else "none looks like personal data"
    return [
        CheckResult(
            f"{LAYER}.feature_policy",
            LAYER,
            Status.PASS,
            f"{len(features)} model inputs: none denied, {scope}{denied}",
            observed=list(features),
            expected={"deny": list(settings.deny), "allow": None if allow is None else list(allow)},
        )
    ]
