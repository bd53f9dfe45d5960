from celery import shared_task

from disputes import services


@shared_task
def mark_disputes_overdue() -> int:
    """Daily: open cases past their due date become 逾期 and their handlers are notified."""
    return services.cases_mark_overdue()
