"""Risk acceptances: from a YAML file (`.mamori/accept.yaml`) or the server's records.

The file is a list of:

    - vulnerability: CVE-2023-4911   # the finding's id or any of its aliases
      package: libc6                 # or {name: libc6, version: 2.36-9+deb12u7}
      image: "registry.local/acme/*" # fnmatch on the image's reference, tags and digests
      reason: not reachable, no setuid binaries in the image
      author: alice@example.com
      expires: 2024-09-30            # mandatory; the acceptance applies through this day
      created: 2024-06-01            # optional

At least one of vulnerability, package and image is required, as are reason and expires;
all the selectors given must match for an acceptance to cover a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

from mamori.errors import UsageError
from mamori.model import Finding, ImageInfo
from mamori.policy.fields import Record
from mamori.policy.model import Acceptance, PackageSelector
from mamori.policy.yamlfile import read_yaml

_FIELDS = ("vulnerability", "package", "image", "reason", "author", "expires", "created")


def load_acceptances(path: Path) -> tuple[Acceptance, ...]:
    """The acceptances of a file; an empty file holds none."""
    data = read_yaml(str(path), "acceptances")
    return acceptances_from_records([] if data is None else data, str(path))


def acceptances_from_records(records: object, source: str) -> tuple[Acceptance, ...]:
    """Validate a list of acceptance mappings (parsed YAML, or JSON from the server)."""
    if not isinstance(records, list):
        raise UsageError(f"{source}: acceptances must be a list of mappings")
    return tuple(
        _acceptance(Record.of(item, source, f"acceptance {n}")) for n, item in enumerate(records, 1)
    )


def _acceptance(record: Record) -> Acceptance:
    record.only(_FIELDS)
    package = _package(record)
    vulnerability, image = record.string("vulnerability"), record.string("image")
    if not (vulnerability or package or image):
        raise record.error("give at least one of 'vulnerability', 'package' and 'image'")
    expires = record.required_date("expires")
    created = record.optional_date("created")
    if created and created > expires:
        raise record.error(f"'created' ({created}) is after 'expires' ({expires})", "created")
    return Acceptance(
        vulnerability=vulnerability,
        package=package,
        image=image,
        reason=record.string("reason", required=True),
        author=record.string("author"),
        expires=expires,
        created=created,
        source=record.place(),
    )


def _package(record: Record) -> PackageSelector | None:
    value = record.data.get("package")
    if value is None:
        return None
    if isinstance(value, dict):
        inner = Record(value, record.source, f"{record.label} package")
        inner.only(("name", "version"))
        return PackageSelector(inner.string("name", required=True), inner.string("version"))
    return PackageSelector(record.string("package", required=True))


def image_names(image: ImageInfo) -> tuple[str, ...]:
    """What an image pattern is matched against: the reference, tags and digests."""
    return tuple(dict.fromkeys((image.reference, *image.repo_tags, *image.repo_digests)))


def covers(acceptance: Acceptance, finding: Finding, images: Iterable[str]) -> bool:
    """Whether every selector the acceptance gives matches the finding (expiry aside)."""
    if acceptance.vulnerability and acceptance.vulnerability not in (finding.id, *finding.aliases):
        return False
    selector = acceptance.package
    if selector is not None:
        package = finding.package
        if selector.name != package.name:
            return False
        if selector.version and selector.version not in (
            package.version,
            finding.installed_version,
        ):
            return False
    return not acceptance.image or any(fnmatchcase(name, acceptance.image) for name in images)
