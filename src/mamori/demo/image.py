"""The demo image: three layers, as a real `docker build` would make them.

1. base: a Debian 12 root whose dpkg database lists 15 real bookworm packages;
2. app: a Node.js app with npm package manifests (nested and scoped) and a Python package
   installed by pip;
3. cleanup: `npm uninstall` of one package (a whiteout) and a cache dir emptied and
   refilled (an opaque directory).

The fail → pass story of `mamori demo` adds two images: `vulnerable` (this one with
known-vulnerable npm versions installed on top, as in examples/vulnerable-deps) and `fixed`
(distroless-style: a few status.d records, no dpkg, current dependencies, a non-root user).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from mamori.demo.oci_writer import (
    Entry,
    ImageSpec,
    directory,
    file,
    layer_tar,
    symlink,
    write_oci_archive,
)

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


VULNERABLE_NPM = {"express": "4.18.2", "lodash": "4.17.20"}  # as in examples/vulnerable-deps
FIXED_NPM = {"express": "5.3.0"}  # the sample app's current dependency
DISTROLESS_PACKAGES = ("base-files", "ca-certificates", "libc6", "libssl3", "tzdata")
NONROOT = "65532"  # distroless's nonroot user


def _npm_layer(versions: dict[str, str]) -> list[Entry]:
    return [
        file(f"app/node_modules/{name}/package.json", _package_json(name, version))
        for name, version in versions.items()
    ]


def vulnerable_spec() -> ImageSpec:
    """The demo image with known-vulnerable npm versions installed on top."""
    spec = demo_spec()
    installs = " ".join(f"{name}@{version}" for name, version in VULNERABLE_NPM.items())
    spec.layers.append(layer_tar(_npm_layer(VULNERABLE_NPM)))
    spec.history.append(f"RUN npm install {installs}")
    return spec


def _stanzas(names: tuple[str, ...]) -> dict[str, bytes]:
    """The data file's stanzas of `names`, by package name."""
    found = {}
    for stanza in _data("dpkg-status").split(b"\n\n"):
        first = stanza.strip().split(b"\n", 1)[0].decode()
        name = first.removeprefix("Package: ")
        if name in names:
            found[name] = stanza.strip() + b"\n"
    return found


def fixed_spec() -> ImageSpec:
    """A distroless-style image: status.d records and no dpkg, the app's current
    dependencies, a non-root user."""
    base = [
        directory("etc"),
        directory("usr/lib"),
        file("usr/lib/os-release", _data("os-release")),
        symlink("etc/os-release", "../usr/lib/os-release"),
        directory("var/lib/dpkg/status.d"),
        *(
            file(f"var/lib/dpkg/status.d/{name}", stanza)
            for name, stanza in _stanzas(DISTROLESS_PACKAGES).items()
        ),
    ]
    app = [
        file("app/package.json", json.dumps({"name": "demo-app", "version": "1.0.0"})),
        file("app/server.js", "require('express')().get('/', (q, r) => r.send('ok'));\n"),
        *_npm_layer(FIXED_NPM),
    ]
    return ImageSpec(
        layers=[layer_tar(base), layer_tar(app)],
        config={
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
            "Cmd": ["/nodejs/bin/node", "/app/server.js"],
            "WorkingDir": "/app",
            "User": NONROOT,
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "mamori-demo-fixed"},
        },
        history=["ADD distroless rootfs /", "COPY app /app"],
    )


DEMO_IMAGES = {"vulnerable": vulnerable_spec, "fixed": fixed_spec}


def build_story_images(workdir: Path) -> dict[str, Path]:
    """Both images of the fail → pass story, as OCI archives in `workdir`, by name."""
    archives = {}
    for name, spec in DEMO_IMAGES.items():
        archives[name] = workdir / f"{name}.tar"
        write_oci_archive(spec(), archives[name], f"mamori-demo:{name}")
    return archives
