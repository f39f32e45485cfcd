"""Container and task metadata: from the ECS task metadata endpoint v4 when it is there
(`ECS_CONTAINER_METADATA_URI_V4`), else from the command-line flags.

`${URI}` describes the container the agent runs in, `${URI}/task` the task (cluster, task
ARN, family, every container). In sidecar mode the agent watches another container of
the task: `--container-name` picks it from the task's container list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from mamori.errors import MamoriError
from mamori.runtime.events import Container

METADATA_ENV = "ECS_CONTAINER_METADATA_URI_V4"
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?")


class MetadataError(MamoriError):
    """The task metadata endpoint answered, but not with what v4 documents."""


@dataclass(frozen=True, slots=True)
class Workload:
    """What every alert carries about where it happened."""

    container: Container
    digest: str | None = None
    image: str | None = None  # the reference as given: repository[:tag][@digest]

    def to_json(self) -> dict[str, str | None]:
        c = self.container
        return {
            "cluster": c.cluster,
            "task": c.task_arn,
            "container": c.name,
            "image": self.image,
            "digest": self.digest,
        }


def split_image(reference: str) -> tuple[str, str | None, str | None]:
    """`host:5000/app:1.2@sha256:…` → ("host:5000/app", "1.2", "sha256:…")."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def parse_time(text: str) -> int | None:
    """RFC 3339 with up to nanoseconds → ns since the epoch."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z") else zone
    seconds = int(datetime.fromisoformat(base + zone).timestamp())
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


def from_flags(
    *,
    name: str | None = None,
    image: str | None = None,
    digest: str | None = None,
    container_id: str | None = None,
    cluster: str | None = None,
    task_arn: str | None = None,
    family: str | None = None,
) -> Workload:
    repository, tag, image_digest = split_image(image) if image else (None, None, None)
    container = Container(
        id=container_id or ("host" if name is None else name),
        name=name,
        image_repository=repository,
        image_tag=tag,
        cluster=cluster,
        task_arn=task_arn,
        task_family=family,
    )
    return Workload(container, digest or image_digest, image)


def _get(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise MetadataError(f"task metadata endpoint {url}: {exc}") from None
    if response.status_code != 200:
        raise MetadataError(f"task metadata endpoint {url}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise MetadataError(f"task metadata endpoint {url}: not JSON") from None
    if not isinstance(data, dict):
        raise MetadataError(f"task metadata endpoint {url}: not a JSON object")
    return data


def from_endpoint(uri: str, container_name: str | None = None, timeout: float = 2.0) -> Workload:
    """Read `${uri}` and `${uri}/task`; `container_name` selects a task container other
    than the agent's own."""
    with httpx.Client(timeout=timeout) as client:
        own = _get(client, uri)
        task = _get(client, uri.rstrip("/") + "/task")
    chosen = own
    if container_name is not None and own.get("Name") != container_name:
        matches = [c for c in task.get("Containers", []) if c.get("Name") == container_name]
        if not matches:
            raise MetadataError(f"task metadata: no container named {container_name!r}")
        chosen = matches[0]
    image = str(chosen.get("Image") or "") or None
    repository, tag, image_digest = split_image(image) if image else (None, None, None)
    docker_id = str(chosen.get("DockerId") or "")
    started = chosen.get("StartedAt") or chosen.get("CreatedAt")
    container = Container(
        id=docker_id[:12] or "host",
        name=chosen.get("Name"),
        image_repository=repository,
        image_tag=tag,
        privileged=False,  # Fargate never runs privileged containers
        start_ts=parse_time(started) if isinstance(started, str) else None,
        task_arn=task.get("TaskARN"),
        task_family=task.get("Family"),
        cluster=task.get("Cluster"),
    )
    digest = chosen.get("ImageID") or image_digest
    return Workload(container, str(digest) if digest else None, image)
