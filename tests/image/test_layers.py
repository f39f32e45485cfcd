"""Layer analysis and the squashed view, on images written with the demo's OCI writer."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mamori.demo.oci_writer import (
    ImageSpec,
    directory,
    file,
    hardlink,
    layer_tar,
    symlink,
    write_oci_archive,
)
from mamori.errors import ImageError
from mamori.image import layer_analysis
from mamori.image.layer_analysis import analyze_tar, normalise_member_path
from mamori.image.layer_cache import LayerCache
from mamori.image.layers import load_layers
from mamori.image.open import OpenOptions, open_image
from mamori.image.squash import SquashedView
from mamori.model import FileKind
from tests.image.probes import TextProbe


def _view(tmp_path: Path, layers: list[bytes]) -> SquashedView:
    archive = tmp_path / "image.tar"
    write_oci_archive(ImageSpec(layers=layers), archive)
    cache = LayerCache(tmp_path / "cache", "t")
    image = open_image(f"oci-archive:{archive}", OpenOptions(scratch=cache.scratch()))
    return SquashedView(load_layers(image, TextProbe(), cache))


def test_whiteouts_and_opaque_dirs_give_the_squashed_view(tmp_path: Path) -> None:
    base = layer_tar(
        [
            directory("opt/data"),
            file("opt/data/a.txt", "a"),
            file("opt/data/sub/b.txt", "b"),
            file("opt/app/keep.txt", "keep"),
            file("opt/app/gone.txt", "gone"),
            file("opt/app/replaced.txt", "old"),
            directory("opt/tree/deep"),
            file("opt/tree/deep/x.txt", "x"),
        ]
    )
    top = layer_tar(
        [
            file("opt/app/.wh.gone.txt", b""),
            file("opt/app/replaced.txt", "new"),
            file("opt/data/.wh..wh..opq", b""),
            file("opt/data/c.txt", "c"),
            file("opt/.wh.tree", b""),
        ]
    )
    view = _view(tmp_path, [base, top])
    assert view.get("/opt/app/gone.txt") is None
    assert view.read("/opt/app/replaced.txt") == b"new"
    replaced = view.get("/opt/app/replaced.txt")
    assert replaced is not None and replaced.layer_index == 1
    keep = view.get("/opt/app/keep.txt")
    assert keep is not None and keep.layer_index == 0
    assert [f.path for f in view.children("/opt/data")] == ["/opt/data/c.txt"]
    assert view.get("/opt/data/sub/b.txt") is None
    assert view.get("/opt/tree/deep/x.txt") is None and view.get("/opt/tree") is None
    assert not [f for f in view.files() if ".wh." in f.path]


def test_history_starts_after_the_last_deletion(tmp_path: Path) -> None:
    layers = [
        layer_tar([file("var/lib/dpkg/status", "one")]),
        layer_tar([file("var/lib/.wh.dpkg", b"")]),
        layer_tar([file("var/lib/dpkg/status", "three")]),
        layer_tar([file("var/lib/dpkg/status", "four")]),
    ]
    view = _view(tmp_path, layers)
    assert view.history("/var/lib/dpkg/status") == [(2, b"three"), (3, b"four")]


def test_symlinks_resolve_and_loops_are_reported(tmp_path: Path) -> None:
    view = _view(
        tmp_path,
        [
            layer_tar(
                [
                    file("usr/lib/os-release", "ID=debian\n"),
                    symlink("etc/os-release", "../usr/lib/os-release"),
                    symlink("lib", "usr/lib"),
                    symlink("etc/loop-a", "/etc/loop-b"),
                    symlink("etc/loop-b", "loop-a"),
                ]
            )
        ],
    )
    assert view.read("/etc/os-release") == b"ID=debian\n"
    assert view.read("/lib/os-release") == b"ID=debian\n"
    with pytest.raises(ImageError, match="symlink loop"):
        view.resolve("/etc/loop-a")


def test_hardlinks_share_content_and_findings(tmp_path: Path) -> None:
    view = _view(
        tmp_path,
        [
            layer_tar(
                [
                    file("a/config.json", "{}"),
                    hardlink("b/config.json", "a/config.json"),
                    file("bin/tool.bin", b"\x7fELF" + b"x" * 100_000, mode=0o755),
                    hardlink("bin/alias.bin", "bin/tool.bin"),
                ]
            )
        ],
    )
    assert view.read("/b/config.json") == b"{}"
    findings = {f.path: result for f, result in view.findings()}
    assert findings["/bin/alias.bin"] == findings["/bin/tool.bin"]


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "a/../../etc/passwd", "./../x", "usr/../../../root/.ssh/key"]
)
def test_path_traversal_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ImageError, match="escapes the image root"):
        _view(tmp_path, [layer_tar([file(name, "evil")])])
    # nothing landed outside the cache directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "image.tar"]


def test_normalised_paths() -> None:
    assert normalise_member_path("./usr/bin/", "x") == "/usr/bin"
    assert normalise_member_path("/abs/path", "x") == "/abs/path"
    assert normalise_member_path("a/./b/../c", "x") == "/a/c"


def test_truncated_tar_is_reported(tmp_path: Path) -> None:
    raw = layer_tar([file("big.txt", "y" * 50_000)])
    with pytest.raises(ImageError, match=r"truncated tar|corrupt tar"):
        analyze_tar(io.BytesIO(raw[:20_000]), "sha256:0", TextProbe(), tmp_path, "layer")


def test_layer_files_carry_kinds(tmp_path: Path) -> None:
    view = _view(tmp_path, [layer_tar([directory("d"), file("d/f.txt", "1"), symlink("l", "d")])])
    kinds = {f.path: f.meta.kind for f in view.files()}
    assert kinds == {"/d": FileKind.DIR, "/d/f.txt": FileKind.FILE, "/l": FileKind.SYMLINK}


def test_gnu_long_names_survive(tmp_path: Path) -> None:
    long_name = "deep/" + "x" * 200 + "/file.txt"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(long_name)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))
    view = _view(tmp_path, [out.getvalue()])
    assert view.read("/" + long_name) == b"ok"


def test_oversized_capture_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layer_analysis, "MAX_CAPTURE", 1000)
    view = _view(
        tmp_path, [layer_tar([file("a/small.json", "{}"), file("a/big.json", "x" * 5000)])]
    )
    assert view.read("/a/small.json") == b"{}"
    assert view.read("/a/big.json") is None
    (warning,) = view.layers[0].warnings
    assert "/a/big.json (5000 bytes)" in warning and "not read" in warning
