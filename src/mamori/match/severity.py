"""The severity of one advisory for one package: a rating, a score and where they came from.

Order of preference: for OS packages the distribution's own rating (it knows how the package
is built and used there), then a CVSS vector (v3.x, else v4) turned into a score and rating
with the `cvss` library, then GitHub's `database_specific.severity`, else unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cvss import CVSS3, CVSS4
from cvss.exceptions import CVSSError

from mamori.model import Severity, SeverityRating

_WORDS = {
    "critical": SeverityRating.CRITICAL,
    "high": SeverityRating.HIGH,
    "important": SeverityRating.HIGH,  # Red Hat
    "moderate": SeverityRating.MEDIUM,  # GitHub, Red Hat
    "medium": SeverityRating.MEDIUM,
    "low": SeverityRating.LOW,
    "negligible": SeverityRating.NEGLIGIBLE,  # Ubuntu
    "unimportant": SeverityRating.NEGLIGIBLE,  # Debian
    "none": SeverityRating.NEGLIGIBLE,
}


def rating_from_word(word: str) -> SeverityRating | None:
    return _WORDS.get(word.strip().lower())


def severity_of(
    advisory_id: str,
    severities: Sequence[tuple[str, str]],
    database_specific: Mapping[str, Any],
    ecosystem_specific: Mapping[str, Any],
    *,
    os_package: bool,
) -> Severity:
    if os_package:
        distro = _distribution_rating(advisory_id, severities, ecosystem_specific)
        if distro is not None:
            return distro
    for wanted in ("CVSS_V3", "CVSS_V4"):
        for kind, vector in severities:
            if kind == wanted:
                scored = _cvss(kind, vector, advisory_id)
                if scored is not None:
                    return scored
    word = database_specific.get("severity")
    rating = rating_from_word(word) if isinstance(word, str) else None
    if rating is not None:
        return Severity(rating, source=f"{advisory_id} rating")
    return Severity(SeverityRating.UNKNOWN, source=advisory_id)


def _distribution_rating(
    advisory_id: str,
    severities: Sequence[tuple[str, str]],
    ecosystem_specific: Mapping[str, Any],
) -> Severity | None:
    for kind, score in severities:
        ubuntu = rating_from_word(score) if kind == "Ubuntu" else None
        if ubuntu is not None:
            return Severity(ubuntu, source=f"{advisory_id} Ubuntu priority")
    for key in ("urgency", "severity"):
        value = ecosystem_specific.get(key)
        rating = rating_from_word(value.removesuffix("*")) if isinstance(value, str) else None
        if rating is not None:
            return Severity(rating, source=f"{advisory_id} distribution {key}")
    return None


def _cvss(kind: str, vector: str, advisory_id: str) -> Severity | None:
    try:
        if kind == "CVSS_V3":
            v3 = CVSS3(vector)
            score, word = float(v3.base_score), str(v3.severities()[0])
        else:
            v4 = CVSS4(vector)
            score, word = float(v4.base_score), str(v4.severity)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    rating = rating_from_word(word) or SeverityRating.UNKNOWN
    return Severity(rating, score, vector, f"{advisory_id} {kind}")
