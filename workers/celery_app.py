"""Celery bound to the Flask app (Flask's celery_init_app pattern): every task runs in an app context."""
from __future__ import annotations

from celery import Celery, Task
from kombu import Queue
from flask import Flask

import config as settings

EMBEDDED_POLLING_SECONDS = 0.1


def celery_init_app(app: Flask, config: settings.Config) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    if config.broker_url.startswith("sqla+"):
        _poll_embedded_broker_faster()
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=config.broker_url,
        task_ignore_result=True,
        # A task is acknowledged after it ran, so a worker killed mid-task leaves it for another.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        include=["workers.tasks", "workers.tasks.engine", "workers.tasks.pages", "workers.tasks.monthly_reports",
                 "workers.tasks.playbook", "workers.tasks.drills"],
        # The tick has a queue of its own, which every worker consumes (both queues are declared),
        # so a backlog of deliveries cannot hold it up until it expires and escalations stall.
        task_queues=(Queue("celery"), Queue("engine")),
        task_routes={"engine.tick": {"queue": "engine"}},
        beat_schedule={
            # The database holds every deadline; the tick only asks it what is due (DESIGN rule 1).
            "engine-tick": {"task": "engine.tick", "schedule": config.engine_tick_seconds,
                            "options": {"expires": max(5.0, config.engine_tick_seconds * 5)}},
            # On the default queue, apart from the tick it watches: pages the admins directly when
            # the tick has not run for a minute (services/engine/watchdog.py).
            "engine-watchdog": {"task": "engine.watchdog", "schedule": 20.0, "options": {"expires": 20}},
            # Hourly, so a report due on the first working day goes out within the hour, and a
            # failed or interrupted one is retried; rows in the database make each go out once.
            "monthly-reports": {"task": "reports.monthly", "schedule": 3600.0, "options": {"expires": 600}},
            # Hourly, like the monthly reports: a quarter without a drill gets one reminder (a setting
            # row remembers the quarter), and a failed send is retried within the hour.
            "playbook-drill-reminder": {"task": "playbook.drill_reminder", "schedule": 3600.0,
                                        "options": {"expires": 600}},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def _poll_embedded_broker_faster() -> None:
    """The embedded broker is polled: kombu's default (an idle worker looks once a second, at each
    hop: intake -> engine.advance -> pages.deliver) puts seconds between an alert and its first
    page. A poll is one indexed query on the broker's SQLite file.

    Set on the transport class because kombu's SQLAlchemy transport hands every
    `broker_transport_options` entry to `create_engine`, which refuses `polling_interval`.
    """
    from kombu.transport.sqlalchemy import Transport

    Transport.polling_interval = EMBEDDED_POLLING_SECONDS
