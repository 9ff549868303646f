"""Reminders to candidates who have not finished, one message per candidate in their language:
sent by e-mail when an SMTP server is configured, and always kept in an outbox HR can export
and announced to HR systems (webhook ``reminder.requested``)."""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import Collection
from email.message import EmailMessage
from typing import Any

from server.core.config import Settings
from server.core.services import Services
from server.domain.interviews import Interview
from server.domain.jobs import Job
from server.domain.models import Status
from server.interview.invitations import invitation_url
from server.outbound import webhooks
from server.security.auth import new_id

PENDING = (Status.INVITED, Status.OPENED, Status.CONSENTED, Status.DEVICE_CHECKED)
SMTP_TIMEOUT_S = 20.0


MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    ("reminder", "zh"): (
        "【面试提醒】{job}",
        "{name}，您好：\n\n您报名的“{job}”在线面试尚未完成，请于 {until} 前通过以下链接参加：\n"
        "{url}\n\n面试全程约需 20–40 分钟，请在安静、光线充足的环境中使用电脑或手机浏览器完成。",
    ),
    ("reminder", "en"): (
        "Reminder: your interview for {job}",
        "Dear {name},\n\nYour online interview for {job} is not finished yet. Please take it "
        "before {until} using this link:\n{url}\n\nIt takes about 20–40 minutes; use a quiet, "
        "well-lit place and a laptop or phone browser.",
    ),
    ("invitation", "zh"): (
        "【面试邀请】{job}",
        "{name}，您好：\n\n感谢您应聘“{job}”。诚邀您参加在线结构化面试，请于 {until} 前"
        "通过以下链接参加：\n{url}\n\n面试全程约需 20–40 分钟，请在安静、光线充足的环境中"
        "使用电脑或手机浏览器完成。面试结果由面试官审核决定。",
    ),
    ("invitation", "en"): (
        "Invitation: online interview for {job}",
        "Dear {name},\n\nThank you for applying for {job}. You are invited to an online "
        "structured interview; please take it before {until} using this link:\n{url}\n\n"
        "It takes about 20–40 minutes; use a quiet, well-lit place and a laptop or phone browser. "
        "The outcome is decided by the examiners.",
    ),
}
"""(kind, language) → subject and body templates of a message to a candidate."""


def _message(
    kind: str, language: str, name: str, job_title: str, url: str, expires_at: float
) -> tuple[str, str]:
    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(expires_at))
    subject, body = MESSAGES[(kind, "zh" if language.startswith("zh") else "en")]
    values = {"name": name, "job": job_title, "url": url, "until": until}
    return subject.format(**values), body.format(**values)


def is_pending(interview: Interview) -> bool:
    """The candidate has not finished (nor declined): a reminder may help."""
    return interview.status in PENDING


async def remind(svc: Services, job: Job, wanted: Collection[str] | None) -> list[dict[str, Any]]:
    """Queue a reminder for the job's pending, unexpired interviews (only ``wanted`` ones when
    given): outbox, webhook ``reminder.requested``, e-mail when SMTP is configured."""
    targets = [
        i
        for i in await svc.store.list_interviews(job.id)
        if is_pending(i) and i.expires_at > time.time() and (wanted is None or i.id in wanted)
    ]
    queued = await _queue(svc, job, targets)
    for item in queued:
        await webhooks.emit(svc, job.org_id, "reminder.requested", item)
    if svc.settings.smtp_host and queued:
        task = asyncio.create_task(_send_mail(svc, queued), name=f"reminder-mail-{job.id}")
        svc.background.add(task)
        task.add_done_callback(svc.background.discard)
    return queued


async def _send_mail(svc: Services, items: list[dict[str, Any]]) -> None:
    """Send queued reminders over SMTP (in a thread); each outbox row ends sent or failed."""
    results = await asyncio.to_thread(_smtp_send, svc.settings, items)
    for item, error in zip(items, results, strict=True):
        await svc.store.set_message_status(item["id"], error)


def _smtp_send(settings: Settings, items: list[dict[str, Any]]) -> list[str | None]:
    results: list[str | None] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            for item in items:
                message = EmailMessage()
                message["From"] = settings.smtp_from
                message["To"] = item["recipient"]
                message["Subject"] = item["subject"]
                message.set_content(item["body"])
                try:
                    smtp.send_message(message)
                    results.append(None)
                except smtplib.SMTPException as exc:
                    results.append(f"{type(exc).__name__}: {exc}"[:300])
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
        results += [error] * (len(items) - len(results))
    return results


async def _queue(svc: Services, job: Job, targets: list[Interview]) -> list[dict[str, Any]]:
    out = []
    for i in targets:
        url = invitation_url(svc, i.id, int(i.expires_at), i.nonce)
        subject, text = _message(
            "reminder",
            i.language,
            i.candidate.get("name", ""),
            job.title,
            url,
            i.expires_at,
        )
        recipient = i.candidate.get("email", "")
        out.append(await _outbox(svc, job, i.id, "reminder", recipient, subject, text, url))
    return out


async def queue_invitation(svc: Services, job: Job, created: dict[str, Any]) -> None:
    """Put an invitation created by the system (résumé screening) in the outbox; e-mail it
    when SMTP is configured."""
    language = job.language
    subject, text = _message(
        "invitation", language, created["name"], job.title, created["url"], created["expires_at"]
    )
    item = await _outbox(
        svc,
        job,
        created["interview_id"],
        "invitation",
        created["email"],
        subject,
        text,
        created["url"],
    )
    if svc.settings.smtp_host:
        task = asyncio.create_task(_send_mail(svc, [item]), name=f"invite-mail-{item['id']}")
        svc.background.add(task)
        task.add_done_callback(svc.background.discard)


async def _outbox(
    svc: Services,
    job: Job,
    interview_id: str,
    kind: str,
    recipient: str,
    subject: str,
    text: str,
    url: str,
) -> dict[str, Any]:
    item = {
        "id": new_id("msg"),
        "interview_id": interview_id,
        "kind": kind,
        "recipient": recipient,
        "subject": subject,
        "body": text,
        "url": url,
    }
    await svc.store.add_message(job.org_id, item)
    return item
