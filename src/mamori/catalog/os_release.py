"""Which distribution an image is built on: os-release first, older release files after.

Distroless images (Debian packages unpacked without dpkg) keep Debian's ID and VERSION_ID,
so their packages match Debian advisories; they are told apart by Google's PRETTY_NAME
"Distroless" or by the shape of their package database (status.d/, no status, no dpkg).
"""

from __future__ import annotations

import re

from mamori.image.squash import SquashedView
from mamori.model import OSRelease

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
ALPINE_RELEASE = "/etc/alpine-release"
# /etc/redhat-release and /etc/system-release are usually symlinks to the vendor's file.
REDHAT_RELEASE_FILES = ("/etc/redhat-release", "/etc/system-release")
_REDHAT_LINK_TARGETS = (
    "/etc/rocky-release",
    "/etc/almalinux-release",
    "/etc/centos-release",
    "/etc/fedora-release",
)

OS_RELEASE_PATHS = frozenset(
    (*OS_RELEASE_FILES, ALPINE_RELEASE, *REDHAT_RELEASE_FILES, *_REDHAT_LINK_TARGETS)
)
"""Every file `detect_os` may read: the layer probe must capture them."""

# "<distribution name> release <version> (<codename>)", as in /etc/redhat-release.
_RELEASE_LINE = re.compile(r"^(?P<name>.+?) release (?P<version>[0-9][0-9.]*)")
_RELEASE_NAME_IDS = (
    ("red hat enterprise linux", "rhel"),
    ("rocky linux", "rocky"),
    ("almalinux", "almalinux"),
    ("amazon linux", "amzn"),
    ("centos", "centos"),
    ("fedora", "fedora"),
)
_SHELL_ESCAPE = re.compile(r"\\(.)")


def detect_os(view: SquashedView) -> OSRelease | None:
    for path in OS_RELEASE_FILES:
        data = view.read(path)
        if data is None:
            continue
        fields = parse_os_release(data.decode("utf-8", "replace"))
        if fields.get("ID"):
            return _from_os_release(view, fields)
    data = view.read(ALPINE_RELEASE)
    if data is not None:
        version = data.decode("utf-8", "replace").strip().splitlines()
        if version and version[0].strip():
            return OSRelease(id="alpine", version_id=version[0].strip())
    for path in REDHAT_RELEASE_FILES:
        data = view.read(path)
        if data is not None:
            found = _from_release_line(data.decode("utf-8", "replace"))
            if found is not None:
                return found
    return None


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines as os-release(5) defines them (shell-style quoting, # comments)."""
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = _SHELL_ESCAPE.sub(r"\1", value)
        fields[key] = value
    return fields


def osv_ecosystem(os: OSRelease | None) -> str:
    """The OSV ecosystem name for the distribution's packages, "" when OSV has none.

    Red Hat's OSV ecosystem names a product stream ("Red Hat:enterprise_linux:9::appstream")
    that an image does not record, and Amazon Linux has no OSV ecosystem: both give "".
    """
    if os is None or not os.version_id:
        return ""
    major_minor = ".".join(os.version_id.split(".")[:2])
    major = os.version_id.split(".")[0]
    match os.id:
        case "debian":
            return f"Debian:{major}"
        case "ubuntu":
            lts = ":LTS" if " LTS" in os.pretty_name else ""
            return f"Ubuntu:{major_minor}{lts}"
        case "alpine":
            return f"Alpine:v{major_minor}"
        case "rocky":
            return f"Rocky Linux:{major}"
        case "almalinux":
            return f"AlmaLinux:{major}"
    return ""


def _from_os_release(view: SquashedView, fields: dict[str, str]) -> OSRelease:
    pretty_name = fields.get("PRETTY_NAME", "")
    return OSRelease(
        id=fields["ID"].lower(),
        version_id=fields.get("VERSION_ID", ""),
        pretty_name=pretty_name,
        version_codename=fields.get("VERSION_CODENAME", ""),
        id_like=tuple(fields.get("ID_LIKE", "").lower().split()),
        distroless="distroless" in pretty_name.lower() or _has_distroless_dpkg_layout(view),
    )


def _has_distroless_dpkg_layout(view: SquashedView) -> bool:
    """status.d/ holds the package records, and there is neither a status file nor dpkg."""
    return (
        bool(view.children("/var/lib/dpkg/status.d"))
        and view.resolve("/var/lib/dpkg/status") is None
        and view.resolve("/usr/bin/dpkg") is None
        and view.resolve("/bin/dpkg") is None
    )


def _from_release_line(text: str) -> OSRelease | None:
    lines = text.strip().splitlines()
    match = _RELEASE_LINE.match(lines[0].strip()) if lines else None
    if match is None:
        return None
    name = match["name"].lower()
    for prefix, os_id in _RELEASE_NAME_IDS:
        if name.startswith(prefix):
            return OSRelease(id=os_id, version_id=match["version"], pretty_name=lines[0].strip())
    return None
