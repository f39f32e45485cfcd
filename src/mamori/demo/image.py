"""The demo image: three layers, as a real `docker build` would make them.

1. base: a Debian 12 root whose dpkg database lists 15 real bookworm packages;
2. app: a Node.js app with npm package manifests (nested and scoped) and a Python package
   installed by pip;
3. cleanup: `npm uninstall` of one package (a whiteout) and a cache dir emptied and
   refilled (an opaque directory).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from mamori.demo.oci_writer import ImageSpec, directory, file, layer_tar, symlink, write_oci_archive

REF_NAME = "mamori-demo:1.0"


def _data(name: str) -> bytes:
    return resources.files("mamori.demo").joinpath("data", name).read_bytes()


def _package_json(name: str, version: str, license_: str = "MIT") -> str:
    return json.dumps({"name": name, "version": version, "license": license_})


def demo_spec() -> ImageSpec:
    base = [
        directory("etc"),
        directory("usr/lib"),
        file("usr/lib/os-release", _data("os-release")),
        symlink("etc/os-release", "../usr/lib/os-release"),
        directory("var/lib/dpkg"),
        file("var/lib/dpkg/status", _data("dpkg-status")),
    ]
    modules = "app/node_modules"
    app = [
        file("app/package.json", json.dumps({"name": "demo-app", "version": "1.0.0"})),
        file("app/server.js", "require('express')().get('/', (q, r) => r.send('ok'));\n"),
        file(f"{modules}/express/package.json", _package_json("express", "4.21.2")),
        file(f"{modules}/body-parser/package.json", _package_json("body-parser", "1.20.3")),
        file(
            f"{modules}/body-parser/node_modules/debug/package.json",
            _package_json("debug", "2.6.9"),
        ),
        file(f"{modules}/@types/node/package.json", _package_json("@types/node", "22.10.2")),
        file(f"{modules}/left-pad/package.json", _package_json("left-pad", "1.3.0", "WTFPL")),
        file(f"{modules}/.package-lock.json", '{"name": "demo-app", "lockfileVersion": 3}'),
        file("app/cache/old.bin", "stale\n"),
        file(
            "usr/local/lib/python3.11/dist-packages/requests-2.32.3.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\n",
        ),
    ]
    cleanup = [
        file(f"{modules}/.wh.left-pad", b""),
        file("app/cache/.wh..wh..opq", b""),
        file("app/cache/fresh.bin", "fresh\n"),
    ]
    return ImageSpec(
        layers=[layer_tar(base), layer_tar(app), layer_tar(cleanup)],
        config={
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
            "Cmd": ["node", "/app/server.js"],
            "WorkingDir": "/app",
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "mamori-demo"},
        },
        history=["ADD rootfs /", "COPY app /app", "RUN npm uninstall left-pad"],
    )


def build_demo_image(output: Path) -> Path:
    write_oci_archive(demo_spec(), output, REF_NAME)
    return output
