"""Value types passed between the stages (image → catalog → report).

Everything here is a frozen dataclass with no behaviour beyond small helpers, so every
stage depends on this module and never on another stage's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class FileKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"


@dataclass(frozen=True)
class LayerInfo:
    """One layer of an image, in order from the base (index 0) up."""

    index: int
    digest: str  # digest of the blob as stored (compressed), or the diff_id when unknown
    diff_id: str  # digest of the uncompressed tar
    media_type: str
    size: int  # blob size in bytes (compressed)
    created_by: str = ""  # the history entry that produced it, when known


@dataclass(frozen=True)
class HistoryEntry:
    created: str
    created_by: str
    empty_layer: bool
    comment: str = ""


@dataclass(frozen=True)
class ImageConfig:
    """The parts of the image config a security reviewer needs. Env values are never kept."""

    architecture: str
    os: str
    variant: str = ""
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""
    env_names: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    created: str = ""
    history: tuple[HistoryEntry, ...] = ()
    healthcheck: tuple[str, ...] = ()
    stop_signal: str = ""


@dataclass(frozen=True)
class ImageInfo:
    reference: str  # as the user gave it, normalised
    source: str  # registry, docker-archive, oci-archive, oci, dir, engine
    digest: str  # manifest digest where there is one, else the config digest
    config_digest: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    config: ImageConfig
    layers: tuple[LayerInfo, ...]
    size: int  # sum of blob sizes


@dataclass(frozen=True)
class OSRelease:
    id: str  # debian, ubuntu, alpine, rhel, rocky, almalinux, amzn, …
    version_id: str
    pretty_name: str = ""
    version_codename: str = ""
    id_like: tuple[str, ...] = ()
    distroless: bool = False

    @property
    def distro_purl_qualifier(self) -> str:
        """The `distro=` qualifier value used in purls, e.g. `debian-12`."""
        return f"{self.id}-{self.version_id}" if self.version_id else self.id


@dataclass(frozen=True)
class Location:
    path: str  # absolute path in the image, e.g. /var/lib/dpkg/status
    layer_index: int  # index into ImageInfo.layers; -1 when the image has no layers (dir:)
    layer_diff_id: str = ""


class PackageType(StrEnum):
    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    NPM = "npm"
    PYPI = "pypi"
    GOLANG = "golang"
    BINARY = "binary"  # runtimes found as binaries outside any package manager


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    type: PackageType
    purl: str
    cataloger: str  # which cataloger found it (dpkg, status.d, apk, rpm, npm, python, go-binary …)
    locations: tuple[Location, ...]
    source_name: str = ""  # OS packages: the source package; Go modules: the main module
    source_version: str = ""
    arch: str = ""
    licenses: tuple[str, ...] = ()
    ecosystem: str = ""  # OSV ecosystem name where one applies (Debian:12, npm, PyPI, Go …)
    metadata: tuple[tuple[str, str], ...] = field(default=())

    @property
    def layer_index(self) -> int:
        return self.locations[0].layer_index if self.locations else -1

    def sort_key(self) -> tuple[str, str, str, str]:
        first = self.locations[0].path if self.locations else ""
        return (self.type.value, self.name.lower(), self.version, first)


@dataclass(frozen=True)
class Inventory:
    """What is in an image: the result of the inventory stage."""

    image: ImageInfo
    os: OSRelease | None
    packages: tuple[Package, ...]
    warnings: tuple[str, ...] = ()
    scanner_version: str = ""
    created_at: str = ""  # when the inventory was taken (UTC, RFC 3339)


class FindingStatus(StrEnum):
    FIXED = "fixed"  # affected, and a release that fixes it exists
    NOT_FIXED = "not-fixed"  # affected, no fix released yet
    WONT_FIX = "wont-fix"  # affected, and the distribution says it will not fix it


class SeverityRating(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NEGLIGIBLE = "negligible"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Higher is worse; for sorting and thresholds."""
        return _RATING_RANK[self]


_RATING_RANK = {
    SeverityRating.UNKNOWN: 0,
    SeverityRating.NEGLIGIBLE: 1,
    SeverityRating.LOW: 2,
    SeverityRating.MEDIUM: 3,
    SeverityRating.HIGH: 4,
    SeverityRating.CRITICAL: 5,
}


@dataclass(frozen=True)
class Severity:
    rating: SeverityRating
    score: float | None = None  # CVSS base score when a vector was given
    vector: str = ""  # the CVSS vector it was computed from
    source: str = ""  # where it came from, e.g. "GHSA-xxxx CVSS_V3", "Debian urgency"


@dataclass(frozen=True)
class Finding:
    """One vulnerability in one installed package, all its advisories merged."""

    id: str  # the preferred id of the alias group (a CVE where there is one)
    aliases: tuple[str, ...]  # every other id of the group (GHSA, PYSEC, DSA, …)
    package: Package
    installed_version: str  # the version that was matched (the source version for OS packages)
    fixed_version: str
    status: FindingStatus
    severity: Severity
    summary: str = ""
    published: str = ""
    modified: str = ""
    links: tuple[str, ...] = ()
    advisories: tuple[str, ...] = ()  # the OSV records that matched (their ids)
    matched_as: str = ""  # what was looked up, e.g. "Debian:12 source openssl 3.0.11-1"


@dataclass(frozen=True)
class DBSource:
    """One source the vulnerability database was built from."""

    kind: str  # "download" or "import"
    location: str  # URL or absolute path
    ecosystem: str = ""  # downloads: the export's ecosystem
    fetched_at: str = ""  # when this content was obtained (UTC, ISO 8601)
    records: int = 0  # advisories read from it


@dataclass(frozen=True)
class DBInfo:
    """The vulnerability database a scan matched against."""

    path: str  # the database folder
    built_at: str  # UTC, ISO 8601
    sources: tuple[DBSource, ...]
    advisories: int = 0


# Policy evaluation (the policy stage's output; its rules live in mamori.policy.model).


class RuleKind(StrEnum):
    SEVERITY_WITH_FIX = "severity_with_fix"  # fail on severity ≥ X with a fix available
    SEVERITY = "severity"  # fail on any finding with severity ≥ X
    MAX_COUNT = "max_count"  # fail when a severity has more findings than allowed
    DENY_PACKAGES = "deny_packages"  # fail when a denied package (version) is installed
    IMAGE_CONFIG = "image_config"  # fail on risky image configuration
    FIX_AGE = "fix_age"  # fail when a fix has been available for more than N days


class ConfigCheck(StrEnum):
    ROOT_USER = "root_user"  # no USER, or USER root / 0
    SECRET_ENV = "secret_env"  # env variable names that look like secrets (values never read)
    SSH_PORT = "ssh_port"  # port 22 exposed
    NO_HEALTHCHECK = "no_healthcheck"  # informational: never fails a rule


@dataclass(frozen=True)
class PackageSelector:
    name: str
    version: str = ""  # empty: any version


@dataclass(frozen=True)
class Acceptance:
    """A risk acceptance. Every selector given must match a finding for it to apply; it
    applies up to and including `expires`."""

    vulnerability: str  # a finding's id or any of its aliases; empty: any
    package: PackageSelector | None
    image: str  # fnmatch pattern on the image's reference, tags and digests; empty: any
    reason: str
    author: str
    expires: date
    created: date | None
    source: str  # where it was read: "file:line" or e.g. "server: acceptance 3"


@dataclass(frozen=True)
class ConfigIssue:
    check: ConfigCheck
    detail: str
    informational: bool = False


@dataclass(frozen=True)
class RuleVerdict:
    policy: str
    rule_id: str
    kind: RuleKind
    description: str
    passed: bool
    informational: bool  # a failure here does not fail the policy
    findings: tuple[Finding, ...] = ()  # the findings that failed the rule
    packages: tuple[Package, ...] = ()  # the denied packages found
    config_issues: tuple[ConfigIssue, ...] = ()


@dataclass(frozen=True)
class AcceptedFinding:
    finding: Finding
    acceptance: Acceptance


@dataclass(frozen=True)
class ExpiredAcceptance:
    """An acceptance that would have covered these findings had it not expired."""

    acceptance: Acceptance
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class PolicyEvaluation:
    passed: bool
    policies: tuple[str, ...]
    verdicts: tuple[RuleVerdict, ...]
    accepted: tuple[AcceptedFinding, ...]
    expired: tuple[ExpiredAcceptance, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CIContext:
    """Where a scan ran, when it ran in a CI system (read from that system's environment)."""

    provider: str  # "github", "gitlab"
    repository: str | None = None
    commit: str | None = None
    ref: str | None = None
    run_url: str | None = None
    workflow: str | None = None


@dataclass(frozen=True)
class ScanResult:
    """An image's inventory with the vulnerabilities found in its packages."""

    inventory: Inventory
    findings: tuple[Finding, ...]  # every finding's package is one of inventory.packages
    db: DBInfo
    warnings: tuple[str, ...] = ()  # the scan's own (matching); the inventory keeps its own
    policy: PolicyEvaluation | None = None  # None until the policy stage has run
    ci: CIContext | None = None  # None: not run in a CI system mamori recognises
