"""What a benchmark ran on: CPU, memory, Python and the database server."""

from __future__ import annotations

import os
import platform
import resource
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine


def describe_machine() -> str:
    """One line: date, CPU model and count, memory, Python version."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kb = int(meminfo.read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GiB RAM"
    return (f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} × {cpu}{memory}, "
            f"Python {platform.python_version()}")


def describe_database(engine: Engine) -> str:
    """The server version and, on PostgreSQL, the settings that matter for bulk loads."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            version = connection.exec_driver_sql("select sqlite_version()").scalar()
            return f"SQLite {version} (WAL, synchronous=NORMAL)"
        version = connection.exec_driver_sql("show server_version").scalar()
        settings = {name: connection.exec_driver_sql(f"show {name}").scalar()
                    for name in ("shared_buffers", "max_wal_size", "synchronous_commit")}
    return f"PostgreSQL {version} (" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")"


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_scratch_database(admin_url: str, purpose: str) -> tuple[str, str]:
    """A throwaway PostgreSQL database next to ``admin_url``: returns (its URL, its name)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text

    name = f"siyu_bench_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
