"""Parse an image config (Docker / OCI) into the model, never keeping env values."""

from __future__ import annotations

from typing import Any

import orjson

from mamori.errors import ImageError
from mamori.model import HistoryEntry, ImageConfig


def parse_config(raw: bytes) -> tuple[ImageConfig, tuple[str, ...]]:
    """Return the config and its `rootfs.diff_ids`."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ImageError(f"image config is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ImageError("image config is not a JSON object")
    rootfs = doc.get("rootfs") or {}
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise ImageError("image config has no rootfs.diff_ids list")
    conf: dict[str, Any] = doc.get("config") or doc.get("container_config") or {}
    if not isinstance(conf, dict):
        conf = {}
    env_names = tuple(
        str(item).split("=", 1)[0] for item in (conf.get("Env") or []) if isinstance(item, str)
    )
    history = tuple(
        HistoryEntry(
            created=str(h.get("created", "")),
            created_by=str(h.get("created_by", "")),
            empty_layer=bool(h.get("empty_layer", False)),
            comment=str(h.get("comment", "")),
        )
        for h in (doc.get("history") or [])
        if isinstance(h, dict)
    )
    health = conf.get("Healthcheck") or {}
    labels = conf.get("Labels") or {}
    config = ImageConfig(
        architecture=str(doc.get("architecture", "")),
        os=str(doc.get("os", "")),
        variant=str(doc.get("variant", "")),
        user=str(conf.get("User") or ""),
        entrypoint=_strings(conf.get("Entrypoint")),
        cmd=_strings(conf.get("Cmd")),
        working_dir=str(conf.get("WorkingDir") or ""),
        env_names=env_names,
        exposed_ports=tuple(sorted((conf.get("ExposedPorts") or {}).keys())),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items()))
        if isinstance(labels, dict)
        else (),
        created=str(doc.get("created", "")),
        history=history,
        healthcheck=_strings(health.get("Test")) if isinstance(health, dict) else (),
        stop_signal=str(conf.get("StopSignal") or ""),
    )
    return config, tuple(diff_ids)


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def layer_history(config: ImageConfig, layer_count: int) -> list[str]:
    """The `created_by` of each non-empty history entry, aligned with the layers."""
    created = [h.created_by for h in config.history if not h.empty_layer]
    if len(created) != layer_count:
        return [""] * layer_count
    return created
