"""The ``siyu`` command."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import typer

app = typer.Typer(help="siyu (私域) — private-domain operations on WeCom.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
sync_app = typer.Typer(help="Sync data from providers.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")
import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("orders")
def import_orders(file: Path = typer.Argument(..., help="CSV (UTF-8 or GBK) or XLSX order export"),
                  platform: str = typer.Option(..., help="taobao (tmall), jd, youzan, douyin or pos"),
                  corp: str = typer.Option(..., help="Corp slug"),
                  shop: str = typer.Option("", help="Shop name (order numbers are unique per shop)"),
                  mapping: str = typer.Option(None, help='Column overrides as JSON: {"target_field": "column"}')
                  ) -> None:
    """Import an order file with a platform preset; prints the report and where the rejects are."""
    from siyu.order.command import run_import_command

    raise typer.Exit(run_import_command(_settings(), path=file, platform=platform, corp_slug=corp, shop=shop,
                                        mapping=mapping, echo=typer.echo))


@sync_app.command("wecom")
def sync_wecom(corp: str = typer.Option(..., help="Corp slug"),
               full: bool = typer.Option(False, "--full", help="Full sync (default: incremental after the "
                                                               "first full sync); resumes an unfinished run")
               ) -> None:
    """Sync departments, staff, customers, corp tags and group chats from the corp's WeCom."""
    from siyu.integrations.wecom.sync_cli import run_sync_command

    raise typer.Exit(run_sync_command(_settings(), corp_slug=corp, full=full, echo=typer.echo))


def _settings():
    from siyu.kit.settings import get_settings

    return get_settings()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads")) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from siyu.kit.migrate import upgrade

    upgrade(_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m")) -> None:
    """Autogenerate a migration from the models (developers)."""
    from siyu.kit.migrate import revision

    revision(_settings().database_url, message)


def _serve(*, embedded_worker: bool, mount_emulator: bool, host: str | None, port: int | None,
           app_factory=None, settings=None) -> None:
    import uvicorn

    from siyu.app import create_app
    from siyu.kit.db import init_database

    settings = settings or _settings()
    database = init_database(settings.database_url)
    application = (app_factory or create_app)(settings, database, embedded_worker=embedded_worker,
                                              mount_emulator=mount_emulator)
    import gc

    # Everything imported and built so far lives as long as the process: keep it out of the cyclic
    # collector, whose full passes over ~190k start-up objects stalled requests for 0.1–0.4 s
    # (measured with bench/callback_bench.py).
    gc.freeze()
    uvicorn.run(application, host=host or settings.host, port=port or settings.port,
                log_level=settings.log_level.lower(), proxy_headers=True)


@app.command()
def serve(host: str = typer.Option(None), port: int = typer.Option(None),
          with_worker: bool = typer.Option(False, help="Also run the job loop in this process.")) -> None:
    """Serve the console, REST API, ingest and WeCom callbacks."""
    _serve(embedded_worker=with_worker, mount_emulator=False, host=host, port=port)


@app.command()
def worker(concurrency: int = typer.Option(1, help="Worker threads in this process.")) -> None:
    """Run the durable job loop until SIGINT/SIGTERM. Run as many processes as you like."""
    from siyu.kit.clock import get_clock
    from siyu.kit.db import init_database
    from siyu.kit.jobs import Worker, default_worker_id, load_handler_modules
    from siyu.kit.logging import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    database = init_database(settings.database_url)
    load_handler_modules(settings.job_modules)
    stop = threading.Event()
    workers = [
        Worker(database, clock=get_clock(), worker_id=f"{default_worker_id()}:{index}",
               lease_seconds=settings.job_lease_seconds, batch_size=settings.job_batch_size,
               idle_seconds=settings.worker_idle_seconds, stop=stop)
        for index in range(concurrency)
    ]

    def shutdown(*_):
        stop.set()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    threads = [threading.Thread(target=w.run, name=f"worker-{i}") for i, w in enumerate(workers)]
    # The journey engine's loop (claims due enrolments in batches) runs beside the job loop.
    from siyu.journey.runner import JourneyRunner

    threads.append(threading.Thread(target=JourneyRunner(database, clock=get_clock(), stop=stop).run,
                                    name="journey-runner"))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@app.command()
def emulator(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8900),
             corp_id: str = typer.Option(None, help="Create and seed this emulated corp (e.g. ww1234567890abcdef)"),
             staff: int = typer.Option(20), customers: int = typer.Option(200),
             callback_url: str = typer.Option("", help="Where the emulated corp POSTs its callbacks"),
             population: float = typer.Option(0.0, help="Simulated actions per minute (0: off)")) -> None:
    """Run the local WeCom emulator on its own (API base http://HOST:PORT/cgi-bin/)."""
    import uvicorn

    from siyu.emulator.wecom.admin import corp_credentials
    from siyu.emulator.wecom.app import close_emulator, create_emulator_app, get_emulator, get_simulator
    from siyu.emulator.wecom.population import PopulationSimulator
    from siyu.emulator.wecom.seed import seed_corp

    application = create_emulator_app()
    if corp_id:
        seed_corp(get_emulator(application), corp_id, staff=staff, customers=customers)
        if callback_url:
            get_simulator(application).configure(corp_id, callback_url=callback_url)
        credentials = corp_credentials(get_emulator(application).corp(corp_id))
        typer.echo(f"emulated corp {corp_id}: contact secret {credentials['contact_secret']}, "
                   f"callback token {credentials['callback']['token']}, "
                   f"EncodingAESKey {credentials['callback']['encoding_aes_key']}")
        if population > 0:
            simulation = PopulationSimulator(get_simulator(application), corp_id, events_per_minute=population)
            application.state.populations[corp_id] = simulation
            simulation.start()
    typer.echo(f"WeCom emulator on http://{host}:{port}/cgi-bin/ (simulation API under /simulate/)")
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    finally:
        close_emulator(application)


@app.command()
def createuser(username: str, password: str = typer.Option(..., prompt=True, hide_input=True),
               corp: str = typer.Option(..., help="Corp slug"),
               role: str = typer.Option("admin"), display_name: str = typer.Option(None),
               create_corp: bool = typer.Option(False, help="Create the corp if it does not exist")) -> None:
    """Create a console user (and optionally its corp)."""
    from siyu.kit.db import init_database
    from siyu.org.bootstrap import create_user_cli

    database = init_database(_settings().database_url)
    with database.session() as session:
        message = create_user_cli(session, corp_slug=corp, username=username, password=password, role=role,
                                  display_name=display_name, create_corp=create_corp)
    typer.echo(message)


@app.command()
def seed(scale: str = typer.Option("demo", help="tiny (200 customers), demo (20 k), bench (1 M; PostgreSQL)"),
         corp: str = typer.Option(None, help="Corp slug (default: the demo brand)"),
         seed_value: int = typer.Option(20260101, "--seed", help="Random seed")) -> None:
    """Generate a fictional fruit-retail brand. Idempotent: an existing brand is left as it is."""
    from siyu.kit.db import init_database
    from siyu.kit.errors import SiyuError
    from siyu.kit.migrate import upgrade
    from siyu.seed.generator import check_scale, run_seed

    settings = _settings()
    try:
        # refuse a scale the database cannot take before migrating or writing anything
        check_scale(scale, settings.database_url)
        upgrade(settings.database_url)
        database = init_database(settings.database_url)
        run_seed(database, scale=scale, corp_slug=corp, seed=seed_value, echo=typer.echo)
    except SiyuError as error:
        typer.echo(error.message(settings.default_language), err=True)
        raise typer.Exit(1) from None


@app.command()
def demo(host: str = typer.Option(None), port: int = typer.Option(None)) -> None:
    """Migrate, seed the demo brand and serve everything (console, API, worker, WeCom emulator)."""
    from siyu.kit.db import init_database
    from siyu.kit.logging import configure_logging
    from siyu.kit.migrate import upgrade
    from siyu.seed.generator import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME, run_seed

    settings = _settings()
    configure_logging(settings.log_level)
    Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    database = init_database(settings.database_url)
    run_seed(database, scale="demo", corp_slug=None, seed=20260101, echo=typer.echo)
    url = f"http://{host or settings.host}:{port or settings.port}"
    if "SIYU_PUBLIC_BASE_URL" not in os.environ:
        # The emulator posts its callbacks to this URL, so it must follow --host/--port.
        settings = settings.model_copy(update={"public_base_url": url})
    typer.echo("")
    typer.echo(f"siyu is starting on {url}")
    typer.echo(f"  console login: {DEMO_ADMIN_USERNAME} / {DEMO_ADMIN_PASSWORD}")
    typer.echo(f"  REST API docs: {url}/api/docs")
    typer.echo(f"  WeCom emulator: {url}/wecom-emulator/cgi-bin/")
    from siyu.demo import create_demo_app

    _serve(embedded_worker=True, mount_emulator=True, host=host, port=port, app_factory=create_demo_app,
           settings=settings)


if __name__ == "__main__":
    app()
