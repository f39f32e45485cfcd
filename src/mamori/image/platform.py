"""Platforms (`os/arch[/variant]`) and choosing a manifest from an index by platform."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass
from typing import Any

from mamori.errors import ImageError, UsageError

_MACHINE_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


def parse_platform(text: str) -> Platform:
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"invalid platform {text!r}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def default_platform() -> Platform:
    """This machine's platform, as a container runtime here would pick it."""
    machine = _platform.machine().lower()
    return Platform("linux", _MACHINE_ARCH.get(machine, machine))


def select_platform(
    descriptors: list[dict[str, Any]], wanted: Platform, where: str
) -> dict[str, Any]:
    """The descriptor of an index that matches `wanted` (variant optional), else an error
    listing what the index offers."""
    offered: list[str] = []
    fallback: dict[str, Any] | None = None
    for descriptor in descriptors:
        plat = descriptor.get("platform") or {}
        if not isinstance(plat, dict):
            continue
        candidate = Platform(
            str(plat.get("os", "")), str(plat.get("architecture", "")), str(plat.get("variant", ""))
        )
        offered.append(str(candidate))
        if (candidate.os, candidate.architecture) != (wanted.os, wanted.architecture):
            continue
        if candidate.variant == wanted.variant:
            return descriptor
        if not wanted.variant and fallback is None:
            fallback = descriptor
    if fallback is not None:
        return fallback
    raise ImageError(
        f"{where} has no image for platform {wanted}; available: "
        f"{', '.join(offered) or 'none declared'} (choose one with --platform)"
    )
