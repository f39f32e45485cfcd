"""Workload metadata from a real HTTP server shaped like the ECS task metadata endpoint v4
(the documented example responses, with a private registry name)."""

from __future__ import annotations

import pytest

from mamori.runtime.agent.container import MetadataError, from_endpoint, from_flags, split_image
from tests.runtime.agent.servers import Recorder

TASK_ARN = "arn:aws:ecs:us-west-2:111122223333:task/default/8f03e41243824aea923aca126495f665"
APP = {
    "DockerId": "ea32192c8553fbff06c9340478a2ff089b2bb5646fb718b4ee206641c9086d66",
    "Name": "app",
    "DockerName": "ecs-shop-24-app-cca48e8dcadd97805600",
    "Image": "registry.example:5000/shop/app:1.4",
    "ImageID": "sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553",
    "Labels": {"com.amazonaws.ecs.cluster": "default", "com.amazonaws.ecs.task-arn": TASK_ARN},
    "DesiredStatus": "RUNNING",
    "KnownStatus": "RUNNING",
    "Limits": {"CPU": 10, "Memory": 128},
    "CreatedAt": "2020-10-02T00:15:07.620912337Z",
    "StartedAt": "2020-10-02T00:15:08.062559351Z",
    "Type": "NORMAL",
}
AGENT = APP | {
    "DockerId": "1f0e" * 16,
    "Name": "mamori-agent",
    "Image": "registry.example:5000/mamori:0.1",
}
TASK = {
    "Cluster": "arn:aws:ecs:us-west-2:111122223333:cluster/default",
    "TaskARN": TASK_ARN,
    "Family": "shop",
    "Revision": "24",
    "DesiredStatus": "RUNNING",
    "KnownStatus": "RUNNING",
    "Containers": [AGENT, APP],
    "LaunchType": "FARGATE",
}


@pytest.fixture
def endpoint():
    server = Recorder(documents={"/v4/abc": AGENT, "/v4/abc/task": TASK})
    yield server.url + "/v4/abc"
    server.stop()


def test_the_watched_container_of_the_task(endpoint: str) -> None:
    workload = from_endpoint(endpoint, "app")
    c = workload.container
    assert c.id == "ea32192c8553" and c.name == "app"
    assert (c.image_repository, c.image_tag) == ("registry.example:5000/shop/app", "1.4")
    assert c.cluster == TASK["Cluster"] and c.task_arn == TASK_ARN and c.task_family == "shop"
    assert c.start_ts == 1601597708062559351
    assert workload.digest == APP["ImageID"]
    assert workload.to_json()["task"] == TASK_ARN


def test_the_agents_own_container_by_default(endpoint: str) -> None:
    assert from_endpoint(endpoint).container.name == "mamori-agent"


def test_unknown_container_and_unreachable_endpoint(endpoint: str) -> None:
    with pytest.raises(MetadataError, match="no container named 'web'"):
        from_endpoint(endpoint, "web")
    with pytest.raises(MetadataError, match="HTTP 404"):
        from_endpoint(endpoint + "/nothing")


def test_flags_and_image_references() -> None:
    assert split_image("registry.example:5000/app@sha256:ab") == (
        "registry.example:5000/app",
        None,
        "sha256:ab",
    )
    workload = from_flags(name="app", image="app:2", cluster="prod")
    assert workload.container.id == "app" and workload.container.image_tag == "2"
    assert from_flags().container.id == "host"
