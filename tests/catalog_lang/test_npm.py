"""The npm cataloger against a real `npm install` (checked with `npm ls`) and against Trivy
on the layouts where the two could disagree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from mamori.catalog.npm import NpmCataloger, NpmManifest, npm_purl, parse_package_json
from mamori.model import PackageType
from tests.catalog_lang.imagefs import tree_layer
from tests.catalog_lang.testcache import cached_dir
from tests.trivy import trivy_packages
from tests.views import DELETED, Symlink, build_context

# Pinned so that npm must nest a second `ms` under `debug` (which needs ms@2.1.x).
NPM_INSTALL = ("ms@2.0.0", "debug@4.3.4", "@sindresorhus/is@4.6.0")
APP_MANIFEST = {"name": "demo-app", "version": "1.0.0", "private": True}


def _installed_app() -> Path:
    """A real npm install of NPM_INSTALL (from the configured registry, once)."""

    def build(directory: Path) -> None:
        app = directory / "app"
        app.mkdir()
        (app / "package.json").write_text(json.dumps(APP_MANIFEST))
        npm_cache = directory / "npm-cache"
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *NPM_INSTALL],
            cwd=app,
            check=True,
            capture_output=True,
            env={**os.environ, "npm_config_cache": str(npm_cache)},
        )
        shutil.rmtree(npm_cache)

    return cached_dir("npm-app", {"install": NPM_INSTALL, "app": APP_MANIFEST}, build) / "app"


def _npm_ls(app: Path) -> set[tuple[str, str, str, str]]:
    """(image path of package.json, name, version, license) of the root and every
    installed package, as npm itself lists them."""
    tree = json.loads(
        subprocess.run(
            ["npm", "ls", "--all", "--json", "--long"],
            cwd=app,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rows = set()

    def visit(node: dict[str, Any]) -> None:
        relative = Path(node["path"]).relative_to(app).as_posix()
        path = "/app/" + (f"{relative}/" if relative != "." else "") + "package.json"
        rows.add((path, node["name"], node["version"], node.get("license", "")))
        for child in node.get("dependencies", {}).values():
            visit(child)

    visit(tree)
    return rows


def test_real_npm_install_matches_npm_ls(tmp_path: Path) -> None:
    app = _installed_app()
    assert (app / "node_modules" / ".package-lock.json").is_file()
    assert (app / "package-lock.json").is_file()
    cataloger = NpmCataloger()
    context = build_context([tree_layer(app, "/app")], tmp_path, cataloger.capture)

    packages = cataloger.catalog(context)

    found = {(p.locations[0].path, p.name, p.version, ",".join(p.licenses)) for p in packages}
    expected = _npm_ls(app)
    assert found == expected
    assert ("/app/node_modules/debug/node_modules/ms/package.json", "ms") in {
        (path, name) for path, name, _, _ in found
    }
    assert any(name == "@sindresorhus/is" for _, name, _, _ in found)
    assert len(packages) == len(expected) == len(NPM_INSTALL) + 2  # + nested ms + the app
    assert context.warnings == []
    for package in packages:
        assert package.type is PackageType.NPM and package.ecosystem == "npm"
        assert package.locations[0].layer_index == 0
        assert package.purl == npm_purl(package.name, package.version)


def test_lockfiles_are_not_captured() -> None:
    cataloger = NpmCataloger()
    assert not cataloger.capture("/app/node_modules/.package-lock.json")
    assert not cataloger.capture("/app/package-lock.json")
    assert cataloger.capture("/app/node_modules/@scope/x/package.json")


def _write(root: Path, path: str, document: object | bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    target.write_bytes(data)


# Every place a package.json can be, including those that are not package roots.
LAYOUT: dict[str, object | bytes] = {
    "/app/package.json": {"name": "myapp", "version": "1.0.0", "license": "MIT"},
    "/app/node_modules/foo/package.json": {"name": "foo", "version": "1.2.3"},
    "/app/node_modules/foo/dist/esm/package.json": {"type": "module"},
    "/app/node_modules/foo/vendor/lodash/package.json": {"name": "lodash", "version": "4.17.20"},
    "/app/node_modules/foo/node_modules/baz/package.json": {"name": "baz", "version": "2.0.0"},
    "/app/node_modules/@scope/bar/package.json": {
        "name": "@scope/bar",
        "version": "3.0.0",
        "licenses": [{"type": "Apache-2.0"}, "MIT"],
    },
    "/app/node_modules/broken/package.json": b'{"name": "broken", "version": ',
    "/app/node_modules/noversion/package.json": {"name": "noversion"},
    "/app/node_modules/.package-lock.json": {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {"node_modules/foo": {"version": "1.2.3"}},
    },
    "/usr/lib/node_modules/npm/package.json": {"name": "npm", "version": "10.2.4"},
    "/usr/share/nodejs/@types/node/package.json": {"name": "@types/node", "version": "18.19.0"},
    "/usr/share/nodejs/acorn/package.json": b'\xef\xbb\xbf{"name": "acorn", "version": "8.8.1"}',
}


def test_same_packages_as_trivy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for path, document in LAYOUT.items():
        _write(root, path, document)
    cataloger = NpmCataloger()
    context = build_context([tree_layer(root, "/")], tmp_path / "view", cataloger.capture)

    packages = cataloger.catalog(context)

    found = {(p.locations[0].path, p.purl) for p in packages}
    trivy = trivy_packages(root, tmp_path / "trivy-cache")
    assert trivy <= found
    # Trivy (0.76) skips a manifest starting with a byte order mark; Node and npm read it.
    assert found - trivy == {("/usr/share/nodejs/acorn/package.json", "pkg:npm/acorn@8.8.1")}
    assert ("/app/node_modules/@scope/bar/package.json", "pkg:npm/%40scope/bar@3.0.0") in found
    assert sorted(context.warnings) == [
        "/app/node_modules/broken/package.json: not valid JSON; package skipped",
        "/app/node_modules/noversion/package.json: no package version; package skipped",
    ]
    licenses = {p.name: p.licenses for p in packages}
    assert licenses["@scope/bar"] == ("Apache-2.0", "MIT")
    assert licenses["myapp"] == ("MIT",)


def test_os_owned_modules_are_marked(tmp_path: Path) -> None:
    cataloger = NpmCataloger()
    context = build_context(
        [
            {
                "/usr/share/nodejs/acorn/package.json": b'{"name":"acorn","version":"8.8.1"}',
                "/usr/lib/nodejs": Symlink("../share/nodejs"),
                "/app/node_modules/acorn/package.json": b'{"name":"acorn","version":"8.8.1"}',
            }
        ],
        tmp_path,
        cataloger.capture,
    )
    context.add_owned("/usr/share/nodejs/acorn/package.json", "deb:node-acorn")

    packages = cataloger.catalog(context)

    owners = {p.locations[0].path: dict(p.metadata).get("owned_by") for p in packages}

    assert owners == {
        "/usr/share/nodejs/acorn/package.json": "deb:node-acorn",
        "/app/node_modules/acorn/package.json": None,
    }


def test_layers_delete_and_replace_packages(tmp_path: Path) -> None:
    def manifest(name: str, version: str) -> bytes:
        return orjson.dumps({"name": name, "version": version})

    cataloger = NpmCataloger()
    context = build_context(
        [
            {
                "/app/node_modules/a/package.json": manifest("a", "1.0.0"),
                "/app/node_modules/b/package.json": manifest("b", "1.0.0"),
                "/app/node_modules/c/package.json": manifest("c", "1.0.0"),
            },
            {
                "/app/node_modules/a": DELETED,
                "/app/node_modules/b/package.json": manifest("b", "2.0.0"),
            },
        ],
        tmp_path,
        cataloger.capture,
    )

    found = {(p.name, p.version, p.layer_index) for p in cataloger.catalog(context)}

    assert found == {("b", "2.0.0", 1), ("c", "1.0.0", 0)}


@given(st.binary())
def test_parse_package_json_never_raises_on_bytes(data: bytes) -> None:
    assert isinstance(parse_package_json(data), NpmManifest | str)


# Text with lone surrogates too: JSON escapes can produce them.
_TEXT = st.text(st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(["name", "version", "license", "licenses", "other"]), _JSON, max_size=5
    )
)
@example({"name": "\ud800", "version": "1.0.0"})
@example({"name": "@scope/", "version": "1.0.0", "license": {"type": ["MIT"]}})
def test_parse_package_json_accepts_exactly_named_and_versioned(document: dict[str, Any]) -> None:
    result = parse_package_json(json.dumps(document).encode())
    name, version = document.get("name"), document.get("version")
    if _usable(name) and _usable(version):
        assert isinstance(name, str) and isinstance(version, str)
        assert isinstance(result, NpmManifest)
        assert (result.name, result.version) == (name.strip(), version.strip())
        assert all(isinstance(license, str) and license for license in result.licenses)
        npm_purl(result.name, result.version)
    else:
        assert isinstance(result, str)


def _usable(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
