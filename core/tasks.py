"""Enqueue a Celery task by its name.

A service schedules work that a task module will run, and the task module calls
the service: importing each other would be a cycle. Services name the task
instead; the registered task is found at call time.
"""

from typing import Any

from celery import current_app


def enqueue(task_name: str, *args: Any, **options: Any):
    """apply_async() of the registered task `task_name` with these positional arguments."""
    app = current_app
    if task_name not in app.tasks:
        # The web process has not imported the apps' tasks modules (a worker
        # does at start): register them once, so that the task's own options,
        # and eager mode in tests, apply as if it had been imported by hand.
        app.loader.import_default_modules()
    return app.signature(task_name, args=args).apply_async(**options)
