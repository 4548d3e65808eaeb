"""PostgreSQL from Debian's packages, as a cluster of the project's own on its own port.

`initdb` refuses to run as root, so when this runs as root the cluster belongs to the
`postgres` system user (created by the Debian package). Host connections need the password
(scram); the data lives under the data dir; `pg_ctl` stops exactly the postmaster it started.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from roleplay_local.infra_credentials import credential
from roleplay_local.paths import data_dir
from roleplay_local.processes import port_open, run_sync, wait_until

USER = "roleplay"
DATABASE = "roleplay"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "300",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'256MB'",
    "log_min_messages": "warning",
}


def port() -> int:
    return int(os.environ.get("ROLEPLAY_LOCAL_POSTGRES_PORT", "15432"))


def bin_dir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def home() -> Path:
    """The cluster's folder. As root it lives under the `postgres` user's own home (a checkout
    under /root is not readable by that user); a link in the data dir points to it."""
    inside = data_dir() / "postgres"
    if os.geteuid() != 0 or (inside.is_dir() and not inside.is_symlink()):
        return inside
    digest = hashlib.sha1(str(data_dir().resolve()).encode()).hexdigest()[:10]
    outside = Path("/var/lib/postgresql") / f"roleplay-{digest}"
    if not inside.is_symlink():
        _discard_orphan(outside)
        outside.mkdir(parents=True, exist_ok=True)
        inside.symlink_to(outside, target_is_directory=True)
    return outside


def _discard_orphan(folder: Path) -> None:
    """Remove a cluster left by an earlier data dir at the same path (a deleted checkout).

    Its password lived in that data dir's credentials, which are gone with it, so the cluster
    can never be used again; a new data dir gets a new cluster.
    """
    if not folder.exists():
        return
    binaries = bin_dir()
    data = folder / "data"
    if binaries is not None and (data / "postmaster.pid").exists():
        subprocess.run(
            [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            user=_owner(),
            cwd="/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    shutil.rmtree(folder)


def cluster() -> Path:
    return home() / "data"


def log_file() -> Path:
    return home() / "postgres.log"


def installed() -> bool:
    return bin_dir() is not None


def install() -> None:
    if installed():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError("PostgreSQL is missing: install Debian's `postgresql` package")
    print("installing PostgreSQL from Debian's packages…", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], env=env, check=True)


def _owner() -> str | None:
    """The system user that owns the cluster when running as root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return "postgres"


def _run_as(owner: str | None, command: list[str]) -> None:
    subprocess.run(command, check=True, user=owner, stdout=subprocess.DEVNULL, cwd="/")


def start() -> None:
    if port_open(port()) and pid() is not None:
        return
    install()
    binaries = bin_dir()
    assert binaries is not None
    owner = _owner()
    home().mkdir(parents=True, exist_ok=True)
    if owner:
        shutil.chown(home(), owner, owner)
    if not (cluster() / "PG_VERSION").exists():
        password_file = home() / "pwfile"
        password_file.write_text(password())
        if owner:
            shutil.chown(password_file, owner)
        _run_as(
            owner,
            [
                str(binaries / "initdb"),
                "-D",
                str(cluster()),
                "-U",
                USER,
                f"--pwfile={password_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
        )
        password_file.unlink()
        conf = cluster() / "postgresql.conf"
        extra = "".join(f"{k} = {v}\n" for k, v in SETTINGS.items())
        conf.write_text(conf.read_text() + "\n# roleplay local cluster\n" + extra)
    _run_as(
        owner,
        [
            str(binaries / "pg_ctl"),
            "-D",
            str(cluster()),
            "-l",
            str(log_file()),
            "-w",
            "-o",
            f"-p {port()} -k {cluster()}",
            "start",
        ],
    )
    run_sync(_ensure_database())


async def _ensure_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host="127.0.0.1", port=port(), user=USER, password=password(), database="postgres"
    )
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", DATABASE)
        if not exists:
            await conn.execute(f'create database "{DATABASE}"')
    finally:
        await conn.close()


def ready() -> bool:
    if not port_open(port()):
        return False

    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(
                host="127.0.0.1",
                port=port(),
                user=USER,
                password=password(),
                database=DATABASE,
                timeout=2,
            )
        except Exception:
            return False
        await conn.close()
        return True

    return run_sync(probe())


def wait_ready(timeout: float = 60.0) -> None:
    wait_until(ready, timeout=timeout, what="PostgreSQL", log_file=log_file())


def pid() -> int | None:
    """The postmaster's pid if our cluster's postmaster is alive."""
    try:
        recorded = int((cluster() / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(recorded, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return recorded


def stop() -> bool:
    binaries = bin_dir()
    if binaries is None or pid() is None:
        return False
    _run_as(_owner(), [str(binaries / "pg_ctl"), "-D", str(cluster()), "-m", "fast", "-w", "stop"])
    return True


def password() -> str:
    """The cluster's password, generated for a new cluster (see `infra_credentials`)."""
    return credential("postgres_password", data_exists=(cluster() / "PG_VERSION").exists())


def url() -> str:
    return f"postgresql+asyncpg://{USER}:{password()}@127.0.0.1:{port()}/{DATABASE}"
