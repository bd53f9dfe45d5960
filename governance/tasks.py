"""Celery tasks of the oversight layer: thin wrappers around the services."""

from celery import shared_task

from governance.services.notifications import notifications_purge


@shared_task
def purge_notifications() -> int:
    """The nightly purge of notifications past their retention period (idempotent)."""
    return notifications_purge()
