"""A review as one Markdown file a person can paste into a wiki (the print page shows the same content)."""

from datetime import datetime

from django.utils import timezone

from reviews import metrics
from reviews.models import ContributingFactor, FollowUp, Review


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M %Z")


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "—"


def _cell(text) -> str:
    return " ".join(str(text if text is not None else "—").split()).replace("|", "\\|") or "—"


def factor_tree(review: Review) -> list[dict]:
    """[{factor, whys: [...]}] in the order written, read in one query."""
    factors = list(review.factors.order_by("created_at", "pk"))
    children: dict[int | None, list[ContributingFactor]] = {}
    for factor in factors:
        children.setdefault(factor.parent_id, []).append(factor)

    def build(parent_id: int | None) -> list[dict]:
        return [{"factor": f, "whys": build(f.pk)} for f in children.get(parent_id, [])]

    return build(None)


def _factor_lines(tree: list[dict], depth: int = 0) -> list[str]:
    lines = []
    for node in tree:
        prefix = "  " * depth + ("- " if depth == 0 else "- Why? ")
        lines.append(prefix + " ".join(node["factor"].text.split()))
        lines += _factor_lines(node["whys"], depth + 1)
    return lines


def review_markdown(review: Review, record: dict, follow_ups: list[FollowUp]) -> str:
    incident = record["incident"]
    severity = record["severity"]
    lines = [
        f"# Post-incident review: {incident['reference']} {incident['title']}",
        "",
        f"- **State:** {review.get_state_display()}"
        + (f" ({_when(review.published_at.isoformat())})" if review.published_at else ""),
        f"- **Owner:** {_person(review.owner)}",
        f"- **Due:** {review.due_on:%Y-%m-%d}",
        f"- **Severity:** {severity['final_label']} (declared {severity['initial_label']}, "
        f"highest {severity['highest_label']})",
        f"- **Incident:** {incident['url']}",
        "",
        "_This review is blameless: it asks what in the system let this happen, not who._",
        "",
    ]
    for name, label, text in review.sections():
        lines += [f"## {label}", "", text.strip() or "_Not written yet._", ""]
        if name == "detection":
            lines += ["## Contributing factors", ""]
            lines += _factor_lines(factor_tree(review)) or ["_None recorded yet._"]
            lines.append("")
    milestones = record["milestones"]
    durations = record["durations"]
    lines += [
        "## Milestones",
        "",
        "| Milestone | When |",
        "| --- | --- |",
    ]
    for key in ("detected", "declared", "acknowledged", "mitigated", "resolved"):
        lines.append(f"| {key.capitalize()} | {_when(milestones[key])} |")
    if record["reopen_count"]:
        lines.append(f"| Reopened ({record['reopen_count']}×, last) | {_when(milestones['reopened'])} |")
    lines += ["", "| Clock (from detection) | Duration |", "| --- | --- |"]
    for clock in metrics.CLOCKS:
        lines.append(f"| {metrics.CLOCK_LABELS[clock]} | {metrics.human(durations.get(clock))} |")
    if severity["changes"]:
        lines += ["", "## Severity changes", ""]
        lines += [
            f"- {_when(c['at'])}: {c['from_label']} → {c['to_label']} ({c['by'] or 'Coolhead'})"
            for c in severity["changes"]
        ]
    lines += [
        "",
        "## Who was involved",
        "",
        "| Role | Person | From | To | For |",
        "| --- | --- | --- | --- | --- |",
    ]
    for role in record["roles"]:
        lines.append(
            f"| {role['role_label']} | {_cell(role['person'])} | {_when(role['started_at'])} | "
            f"{_when(role['ended_at'])} | {metrics.human(role['seconds'])} |"
        )
    if record["participants"]:
        lines += ["", "Participants: " + ", ".join(record["participants"])]
    lines += ["", "## Impact", ""]
    lines.append("Services: " + (", ".join(record["services"]) or "—"))
    if record["components"]:
        lines += ["", "| Component | Worst public status | Customer-visible for |", "| --- | --- | --- |"]
        for c in record["components"]:
            lines.append(
                f"| {_cell(c['name'])} | {c['worst_status_label']} | "
                f"{metrics.human(c['customer_visible_seconds'])} |"
            )
    public = record["public"]
    if public:
        lines += [
            "",
            f"On the status page as “{public['name']}” for "
            f"{metrics.human(public['customer_visible_seconds'])}.",
            "",
            "### Public updates",
            "",
        ]
        lines += [
            f"- {_when(u['at'])} **{u['status_label']}**: {' '.join(u['body'].split())}"
            for u in public["updates"]
        ]
    if record["pages"]:
        lines += [
            "",
            "## Pages",
            "",
            "| Sent | To | Notified | Answered by | After |",
            "| --- | --- | --- | --- | --- |",
        ]
        for p in record["pages"]:
            lines.append(
                f"| {_when(p['at'])} | {_cell(p['target'])} | {_cell(', '.join(p['notified']))} | "
                f"{_cell(p['acknowledged_by'] or p['status_label'])} | "
                f"{metrics.human(p['seconds_to_acknowledge'])} |"
            )
    if record["decisions"]:
        lines += ["", "## Decisions", ""]
        for d in record["decisions"]:
            lines.append(
                f"- {_when(d['at'])} **{d['kind_label']}** ({d['state_label'].lower()}): {d['summary']} — "
                f"{' '.join(d['reason'].split())}"
            )
    if record["changes"]:
        lines += [
            "",
            "## Changes made",
            "",
            "| When | What | Where | Old | New | State |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in record["changes"]:
            lines.append(
                f"| {_when(c['at'])} | {_cell(c['what'])} | {_cell(c['where'])} | {_cell(c['old_value'])} | "
                f"{_cell(c['new_value'])} | {c['state_label']} |"
            )
    lines += ["", "## Timeline", ""]
    for e in record["timeline"]:
        first = " ".join(e["body"].split())
        lines.append(f"- {_when(e['at'])} · {e['kind_label']} · {e['author'] or 'Coolhead'}: {first}")
    if record["timeline_more"]:
        lines.append(f"- … and {record['timeline_more']} more entries in the incident's timeline.")
    lines += ["", "## Follow-ups", ""]
    if follow_ups:
        lines += ["| Follow-up | Owner | Due | Priority | State |", "| --- | --- | --- | --- | --- |"]
        for f in follow_ups:
            owner = (f.owner.get_full_name() or f.owner.get_username()) if f.owner else "—"
            lines.append(
                f"| {_cell(f.title)} | {_cell(owner)} | {f.due_on or '—'} | {f.get_priority_display()} | "
                f"{f.get_state_display()} |"
            )
    else:
        lines.append("_None._")
    amendments = list(review.amendments.order_by("created_at", "pk"))
    if amendments:
        lines += ["", "## Amendments", ""]
        lines += [f"- {_when(a.created_at.isoformat())}: {' '.join(a.body.split())}" for a in amendments]
    return "\n".join(lines).rstrip() + "\n"
