"""Hand-built inventories shaped like what the catalogers produce for real images."""

from __future__ import annotations

import hashlib

from packageurl import PackageURL

from mamori.model import (
    HistoryEntry,
    ImageConfig,
    ImageInfo,
    Inventory,
    LayerInfo,
    Location,
    OSRelease,
    Package,
    PackageType,
)

CREATED_AT = "2024-06-01T12:30:45Z"


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


LAYERS = tuple(
    LayerInfo(
        index=n,
        digest=sha256(f"blob {n}"),
        diff_id=sha256(f"diff {n}"),
        media_type="application/vnd.oci.image.layer.v1.tar+gzip",
        size=size,
        created_by=created_by,
    )
    for n, (size, created_by) in enumerate(
        [
            (29_150_000, "/bin/sh -c #(nop) ADD file:debian-rootfs in /"),
            (51_200_000, "RUN /bin/sh -c apt-get install -y nodejs python3-requests"),
            (4_300_000, "COPY app /app"),
        ]
    )
)


def loc(path: str, layer: int) -> Location:
    return Location(path=path, layer_index=layer, layer_diff_id=LAYERS[layer].diff_id)


def deb(
    name: str, version: str, source: str = "", source_version: str = "", **extra: object
) -> Package:
    qualifiers = {"arch": "amd64", "distro": "debian-12"}
    if source:
        qualifiers["upstream"] = f"{source}@{source_version or version}"
    purl = PackageURL(
        type="deb", namespace="debian", name=name, version=version, qualifiers=qualifiers
    )
    return Package(
        name=name,
        version=version,
        type=PackageType.DEB,
        purl=purl.to_string(),
        cataloger="dpkg",
        locations=(loc("/var/lib/dpkg/status", 0),),
        source_name=source,
        source_version=source_version,
        arch="amd64",
        ecosystem="Debian:12",
        **extra,  # type: ignore[arg-type]
    )


def npm(name: str, version: str, *paths: tuple[str, int], licenses: tuple[str, ...]) -> Package:
    scope, _, bare = name.rpartition("/")
    purl = PackageURL(type="npm", namespace=scope or None, name=bare, version=version)
    return Package(
        name=name,
        version=version,
        type=PackageType.NPM,
        purl=purl.to_string(),
        cataloger="npm",
        locations=tuple(loc(path, layer) for path, layer in paths),
        licenses=licenses,
        ecosystem="npm",
    )


def debian_packages() -> tuple[Package, ...]:
    return (
        deb(
            "libc6",
            "2.36-9+deb12u7",
            "glibc",
            licenses=("LGPL-2.1", "GPL-2+ and BSD-ish"),
            metadata=(("maintainer", "GNU Libc Maintainers"), ("installed_size", "12986")),
        ),
        deb("bsdutils", "1:2.38.1-5+deb12u1", "util-linux", "2.38.1-5+deb12u1"),
        deb("libssl3", "3.0.13-1~deb12u1", "openssl", licenses=("Apache-2.0",)),
        deb("nodejs", "18.19.0+dfsg-6~deb12u2", licenses=("Expat",)),
        npm(
            "@babel/code-frame",
            "7.24.7",
            ("/app/node_modules/@babel/code-frame/package.json", 2),
            licenses=("MIT",),
        ),
        # one package found at two places
        npm(
            "semver",
            "7.6.2",
            ("/app/node_modules/semver/package.json", 2),
            ("/app/node_modules/semver/package.json.bak", 2),
            licenses=("ISC",),
        ),
        # the same purl twice: two copies of one version in different trees
        npm(
            "ms",
            "2.1.3",
            ("/app/node_modules/ms/package.json", 2),
            licenses=("mit",),
        ),
        npm(
            "ms",
            "2.1.3",
            ("/app/node_modules/debug/node_modules/ms/package.json", 2),
            licenses=("(MIT OR Apache-2.0)",),
        ),
        Package(
            name="requests",
            version="2.32.3",
            type=PackageType.PYPI,
            purl="pkg:pypi/requests@2.32.3",
            cataloger="python",
            locations=(
                loc("/usr/lib/python3/dist-packages/requests-2.32.3.dist-info/METADATA", 1),
            ),
            licenses=("Apache 2.0",),
            ecosystem="PyPI",
        ),
        Package(
            name="github.com/spf13/cobra",
            version="v1.8.0",
            type=PackageType.GOLANG,
            purl="pkg:golang/github.com/spf13/cobra@v1.8.0",
            cataloger="go-binary",
            locations=(loc("/usr/local/bin/app-cli", 2),),
            source_name="example.com/app-cli",
            source_version="v0.3.1",
            ecosystem="Go",
        ),
        Package(
            name="node",
            version="22.3.0",
            type=PackageType.BINARY,
            purl="pkg:generic/node@22.3.0",
            cataloger="binary",
            locations=(loc("/usr/local/bin/node", 2),),
        ),
    )


def debian_inventory(packages: tuple[Package, ...] | None = None) -> Inventory:
    config = ImageConfig(
        architecture="amd64",
        os="linux",
        user="",
        entrypoint=("docker-entrypoint.sh",),
        cmd=("node", "/app/server.js"),
        working_dir="/app",
        env_names=("PATH", "NODE_ENV", "DATABASE_PASSWORD"),
        exposed_ports=("3000/tcp",),
        labels=(("org.opencontainers.image.title", "app"), ("maintainer", "ops team")),
        created="2024-05-30T08:00:00Z",
        history=(
            *(
                HistoryEntry(
                    created="2024-05-30T08:00:00Z", created_by=layer.created_by, empty_layer=False
                )
                for layer in LAYERS
            ),
            HistoryEntry(
                created="2024-05-30T08:00:01Z",
                created_by='/bin/sh -c #(nop)  CMD ["node" "/app/server.js"]',
                empty_layer=True,
            ),
        ),
        healthcheck=("CMD", "node", "/app/health.js"),
        stop_signal="SIGTERM",
    )
    image = ImageInfo(
        reference="127.0.0.1:5000/acme/app:1.4",
        source="registry",
        digest=sha256("manifest"),
        config_digest=sha256("config"),
        repo_tags=("127.0.0.1:5000/acme/app:1.4",),
        repo_digests=(f"127.0.0.1:5000/acme/app@{sha256('manifest')}",),
        config=config,
        layers=LAYERS,
        size=sum(layer.size for layer in LAYERS),
    )
    os_release = OSRelease(
        id="debian",
        version_id="12",
        pretty_name="Debian GNU/Linux 12 (bookworm)",
        version_codename="bookworm",
    )
    return Inventory(
        image=image,
        os=os_release,
        packages=debian_packages() if packages is None else packages,
        warnings=("/app/node_modules/broken/package.json: invalid JSON, skipped",),
        scanner_version="0.1.0",
        created_at=CREATED_AT,
    )


def bare_inventory() -> Inventory:
    """An image with no layers, no OS and nothing in it (a `dir:` of static files)."""
    image = ImageInfo(
        reference="dir:/srv/rootfs",
        source="dir",
        digest="",
        config_digest="",
        repo_tags=(),
        repo_digests=(),
        config=ImageConfig(architecture="", os=""),
        layers=(),
        size=0,
    )
    return Inventory(image=image, os=None, packages=(), created_at=CREATED_AT)
