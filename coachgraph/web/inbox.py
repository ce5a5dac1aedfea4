"""The web inbox pages (SPEC §17): the approvals queue, a draft, bulk approval, reports.

Decisions go through `coachgraph.runner.approvals` exactly as the CLI's do, so the same
rules hold (an unsendable accept or edit is refused with the reason). The web adds one
check of its own: a form carries the interrupt id it showed, and a decision on a draft
that has changed since is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from coachgraph.runner.approvals import decide, pending_approvals, waiting_item
from coachgraph.runner.campaigns import CampaignRuntime, campaign_runtime
from coachgraph.runner.reports import FUNNEL, attention_rows, audit_log_rows, campaign_report
from coachgraph.store.crm import CrmStore
from coachgraph.web.auth import render, signed_in
from nodes.campaign.schedule_next import effective_plan
from schemas.approval import HumanResponse
from schemas.campaign import CampaignState
from schemas.context import Context
from schemas.errors import NotFoundError, UserError
from schemas.supervision import AUDIT_TYPES

STALE = "the draft changed since you opened it: review it again"
DEFAULT_AUDIT_LIMIT = 100
MAX_AUDIT_LIMIT = 5000


@dataclass(frozen=True)
class Inbox:
    """What the pages share: the run context and the CRM."""

    context: Context
    crm: CrmStore

    @contextmanager
    def runtime(self) -> Iterator[CampaignRuntime]:
        """The campaign graph over this database, for one request."""
        with campaign_runtime(self.context) as rt:
            yield rt


def inbox_routes() -> list[Route]:
    """Every signed-in page."""
    return [
        Route("/", signed_in(queue), methods=["GET"]),
        Route("/drafts/{thread_id:path}/decide", signed_in(decide_draft), methods=["POST"]),
        Route("/drafts/{thread_id:path}", signed_in(draft_page), methods=["GET"]),
        Route("/bulk/confirm", signed_in(bulk_confirm), methods=["POST"]),
        Route("/bulk/approve", signed_in(bulk_approve), methods=["POST"]),
        Route("/campaigns/{campaign_id}", signed_in(campaign_page), methods=["GET"]),
        Route("/audit", signed_in(audit_page), methods=["GET"]),
        Route("/attention", signed_in(attention_page), methods=["GET"]),
    ]


def _inbox(request: Request) -> Inbox:
    inbox: Inbox = request.app.state.inbox
    return inbox


# The queue and bulk approval


async def queue(request: Request) -> Response:
    """Drafts waiting on a person, grouped by campaign, with the review verdicts."""
    groups = await run_in_threadpool(queue_groups, _inbox(request))
    flash = request.session.pop("flash", None)
    return render(request, "queue.html", groups=groups, flash=flash)


def queue_groups(inbox: Inbox) -> list[dict[str, Any]]:
    """Pending drafts by campaign (campaign rows and contact names attached)."""
    with inbox.runtime() as rt:
        items = pending_approvals(rt)
    names = {c["id"]: _name(c) for c in inbox.crm.list_contacts()}
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        cid = item["campaign_id"]
        if cid not in groups:
            groups[cid] = {"id": cid, "campaign": inbox.crm.get_campaign(cid), "items": []}
        groups[cid]["items"].append(item | {"name": names.get(item["contact_id"], "")})
    return sorted(groups.values(), key=lambda g: g["id"])


def _name(contact: Any) -> str:
    return " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)


async def bulk_confirm(request: Request) -> Response:
    """The second step of bulk approval: what exactly would be approved."""
    picked = _picked(await request.form())
    if not picked:
        request.session["flash"] = "Nothing selected: tick the drafts to approve."
        return RedirectResponse("/", status_code=303)
    items = await run_in_threadpool(_approvable, _inbox(request), picked)
    return render(request, "bulk_confirm.html", items=items, skipped=len(picked) - len(items))


def _picked(form: FormData) -> dict[str, str]:
    """Thread id → the interrupt id its checkbox showed (`pick` = "INTERRUPT THREAD")."""
    pairs = (str(v).split(" ", 1) for v in form.getlist("pick"))
    return {p[1]: p[0] for p in pairs if len(p) == 2}


def _approvable(inbox: Inbox, picked: dict[str, str]) -> list[dict[str, Any]]:
    """The picked drafts still waiting as shown, and passed by review."""
    with inbox.runtime() as rt:
        items = pending_approvals(rt)
    return [
        i for i in items if picked.get(i["thread_id"]) == i["interrupt_id"] and i["review_passed"]
    ]


async def bulk_approve(request: Request) -> Response:
    """Approve each confirmed draft in turn; report what became of each."""
    picked = _picked(await request.form())
    results = await run_in_threadpool(_approve_each, _inbox(request), picked)
    return render(request, "bulk_done.html", results=results)


def _approve_each(inbox: Inbox, picked: dict[str, str]) -> list[dict[str, Any]]:
    accept = HumanResponse(type="accept", args=None)
    results = []
    with inbox.runtime() as rt:
        for thread_id, interrupt_id in picked.items():
            try:
                result = _decide_shown(rt, thread_id, interrupt_id, accept)
                results.append({"thread_id": thread_id, "ok": True, "text": summary(result)})
            except UserError as exc:
                results.append({"thread_id": thread_id, "ok": False, "text": str(exc)})
    return results


def summary(result: dict[str, Any]) -> str:
    """What a decision did, in a few words: whether an email went, and the thread's status."""
    sent = "email sent" if result.get("sent") else "no email sent"
    return f"{sent} (thread {result['outcome']})"


# One draft


async def draft_page(request: Request) -> Response:
    """A draft with everything behind it, and the four decisions."""
    thread_id = request.path_params["thread_id"]
    try:
        view = await run_in_threadpool(draft_view, _inbox(request), thread_id)
    except UserError as exc:
        return _refusal(request, exc)
    return render(request, "draft.html", **view)


def draft_view(inbox: Inbox, thread_id: str) -> dict[str, Any]:
    """The draft page's data: the item, plan, provenance, facts, touches and history."""
    with inbox.runtime() as rt:
        item = waiting_item(rt, thread_id)
        values: CampaignState = rt.app.get_state(rt.config(thread_id)).values  # type: ignore[assignment]
    contact = inbox.crm.get_contact(item["contact_id"])
    pending = values.get("pending")
    return {
        "item": item,
        "plan": effective_plan(values),
        "provenance": sorted((values.get("provenance") or {}).items()),
        "facts": pending["facts_used"] if pending else [],
        "touches": values.get("touches", []),
        "history": inbox.crm.history(item["contact_id"]),
        "contact": contact,
        "name": _name(contact) if contact else "",
        "campaign": inbox.crm.get_campaign(item["campaign_id"]),
    }


async def decide_draft(request: Request) -> Response:
    """Approve, edit, reject or send feedback on the draft the form showed."""
    thread_id = request.path_params["thread_id"]
    form = await request.form()
    response = _response(form)
    if response is None:
        return render(request, "message.html", 400, title="Bad request", message="Unknown action.")
    inbox = _inbox(request)
    try:
        result = await run_in_threadpool(
            _decide_one, inbox, thread_id, str(form.get("interrupt_id", "")), response
        )
    except UserError as exc:
        return await _refused_decision(request, inbox, thread_id, exc, form)
    request.session["flash"] = f"{thread_id}: {response['type']} → {summary(result)}"
    return RedirectResponse("/", status_code=303)


def _response(form: FormData) -> HumanResponse | None:
    """The form's decision as the CLI builds it for `approvals approve|edit|reject|respond`."""
    action = form.get("action")
    if action == "approve":
        return HumanResponse(type="accept", args=None)
    if action == "edit":
        edit = {"subject": str(form.get("subject", "")), "body": str(form.get("body", ""))}
        return HumanResponse(type="edit", args={"action": "send_email", "args": edit})
    if action == "reject":
        return HumanResponse(type="ignore", args=str(form.get("reason", "")).strip() or None)
    if action == "feedback":
        return HumanResponse(type="response", args=str(form.get("feedback", "")))
    return None


def _decide_one(
    inbox: Inbox, thread_id: str, interrupt_id: str, response: HumanResponse
) -> dict[str, Any]:
    with inbox.runtime() as rt:
        return _decide_shown(rt, thread_id, interrupt_id, response)


def _decide_shown(
    rt: CampaignRuntime, thread_id: str, interrupt_id: str, response: HumanResponse
) -> dict[str, Any]:
    """`decide`, refused when the draft waiting is no longer the one the person saw."""
    if waiting_item(rt, thread_id)["interrupt_id"] != interrupt_id:
        raise UserError(STALE)
    return decide(rt, thread_id, response, expected_interrupt=interrupt_id)


async def _refused_decision(
    request: Request, inbox: Inbox, thread_id: str, exc: UserError, form: FormData
) -> Response:
    """The draft page again with the reason, or a message page when no draft waits."""
    try:
        view = await run_in_threadpool(draft_view, inbox, thread_id)
    except UserError:
        return _refusal(request, exc)
    edited = {"subject": form.get("subject"), "body": form.get("body")}
    status = 409 if str(exc) == STALE else 400
    return render(request, "draft.html", status, error=str(exc), edited=edited, **view)


def _refusal(request: Request, exc: UserError) -> Response:
    if isinstance(exc, NotFoundError):
        return render(request, "message.html", 404, title="Not found", message=str(exc))
    return render(request, "message.html", 409, title="Nothing to decide", message=str(exc))


# Reports


async def campaign_page(request: Request) -> Response:
    """A campaign's funnel per touch, as a server-rendered bar chart and a table."""
    inbox = _inbox(request)
    cid = request.path_params["campaign_id"]
    ctx = inbox.context
    try:
        report = await run_in_threadpool(
            campaign_report, inbox.crm, cid, ctx.llm_usd_per_mtok_in, ctx.llm_usd_per_mtok_out
        )
    except NotFoundError as exc:
        return render(request, "message.html", 404, title="Not found", message=str(exc))
    campaign = inbox.crm.get_campaign(cid)
    return render(
        request,
        "campaign.html",
        report=report,
        campaign=campaign,
        funnel=FUNNEL,
        chart=funnel_chart(report["touches"]),
    )


BAR_W, BAR_GAP, GROUP_GAP, CHART_H, LEFT, TOP, BOTTOM = 14, 2, 24, 160, 40, 10, 40
"""Funnel chart geometry, in SVG user units."""


def funnel_chart(touches: list[dict[str, int]]) -> dict[str, Any]:
    """Bars (x, y, width, height, metric, value) for each touch's funnel counts."""
    top = max((t[m] for t in touches for m in FUNNEL), default=0) or 1
    group_w = len(FUNNEL) * (BAR_W + BAR_GAP) + GROUP_GAP
    bars, labels = [], []
    for g, row in enumerate(touches):
        x0 = LEFT + g * group_w
        labels.append({"x": x0 + group_w / 2 - GROUP_GAP / 2, "text": f"touch {row['touch']}"})
        for i, metric in enumerate(FUNNEL):
            height = round(CHART_H * row[metric] / top, 1)
            x = x0 + i * (BAR_W + BAR_GAP)
            bars.append(
                {
                    "x": x,
                    "y": TOP + CHART_H - height,
                    "w": BAR_W,
                    "h": height,
                    "metric": metric,
                    "value": row[metric],
                    "touch": row["touch"],
                }
            )
    width = LEFT + max(len(touches), 1) * group_w
    return {
        "bars": bars,
        "labels": labels,
        "width": width,
        "height": TOP + CHART_H + BOTTOM,
        "top": top,
        "base": TOP + CHART_H,
        "left": LEFT,
        "label_y": TOP + CHART_H + 16,
        "legend_y": TOP + CHART_H + 34,
    }


async def audit_page(request: Request) -> Response:
    """The audit log, newest `limit` rows, filtered by thread, campaign and type."""
    q = request.query_params
    filters = {k: q.get(k) or None for k in ("thread", "campaign", "type")}
    error, rows, status = None, [], 200
    try:
        limit = _limit(q.get("limit"))
        rows = await run_in_threadpool(
            audit_log_rows,
            _inbox(request).crm,
            filters["type"],
            thread_id=filters["thread"],
            campaign_id=filters["campaign"],
            limit=limit,
        )
    except UserError as exc:
        error, status, limit = str(exc), 404 if isinstance(exc, NotFoundError) else 400, None
    return render(
        request,
        "audit.html",
        status,
        rows=rows,
        filters=filters,
        limit=limit or DEFAULT_AUDIT_LIMIT,
        types=AUDIT_TYPES,
        error=error,
    )


def _limit(text: str | None) -> int:
    if not text:
        return DEFAULT_AUDIT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_AUDIT_LIMIT:
        raise UserError(f"limit must be a whole number from 1 to {MAX_AUDIT_LIMIT}, not {text!r}")
    return int(text)


async def attention_page(request: Request) -> Response:
    """Everything waiting on a person that is not a draft."""
    rows = await run_in_threadpool(attention_rows, _inbox(request).crm)
    return render(request, "attention.html", rows=rows)
