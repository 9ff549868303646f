"""Live progress: status changes become hub messages on the job and org topics."""

from __future__ import annotations

from server.core.services import Services
from server.domain.models import Status
from server.live.results import RESULTS_STREAM, status_entry
from server.outbound import webhooks
from server.storage.store import StatusChange


def job_topic(job_id: str) -> str:
    return f"job:{job_id}"


def org_topic(org_id: str) -> str:
    return f"org:{org_id}"


async def publish_status(svc: Services, change: StatusChange) -> None:
    """Publish a status change with the job's fresh counts (sub-second for dashboards);
    a completion is also announced to HR systems (webhook ``interview.completed``)."""
    counts = await svc.store.status_counts(change.job_id)
    message = {
        "type": "status",
        "interview_id": change.interview_id,
        "job_id": change.job_id,
        "status": change.new.value,
        "previous": change.old.value,
        "counts": counts,
    }
    topics = [job_topic(change.job_id), org_topic(change.org_id)]
    if svc.results_writer is not None:
        # over Redis: a durable stream entry, published by an API process (never lost)
        svc.results_writer.add(RESULTS_STREAM, status_entry(topics, message))
    else:
        for topic in topics:
            svc.hub.publish(topic, message)
    if change.new is Status.COMPLETED:
        await webhooks.emit(
            svc,
            change.org_id,
            "interview.completed",
            {
                "interview_id": change.interview_id,
                "job_id": change.job_id,
                "interview_url": f"{svc.settings.base_url}/api/interviews/{change.interview_id}",
            },
        )
