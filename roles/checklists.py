"""Each role's checklist, from the seeds' "Steps for ..." sections.

The PagerDuty "During an Incident" guide gives the steps for the major-incident
roles; the MNX adaptation gives the steps for the single on-call person who
handles a smaller incident alone. Item keys are stored on the assignment when
ticked, so they must stay stable: add new keys rather than renumbering.
"""

from dataclasses import dataclass

from roles.models import IncidentRole


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    text: str


@dataclass(frozen=True)
class Checklist:
    purpose: str
    items: tuple[ChecklistItem, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(item.key for item in self.items)


AFTER = "Once the call is over, start the steps from After an Incident (the post-incident review)."

CHECKLISTS: dict[str, Checklist] = {
    IncidentRole.INCIDENT_COMMANDER: Checklist(
        "Resolve the incident as quickly and as safely as possible; use the Deputy to assist you. "
        "Delegate any tasks to relevant experts at your discretion.",
        (
            ChecklistItem(
                "announce",
                "Announce that you are the incident commander, who you have designated as deputy "
                "(usually the backup IC), and scribe.",
            ),
            ChecklistItem(
                "obvious-cause",
                "Identify if there is an obvious cause (recent deployment, spike in traffic...) and "
                "delegate investigation to relevant experts.",
            ),
            ChecklistItem(
                "repair-actions",
                "Identify investigation and repair actions (roll back, rate-limit, rolling restart...) "
                "and delegate them to service experts.",
            ),
            ChecklistItem(
                "announce-publicly",
                "Listen to the Deputy about severity escalations; decide whether to announce publicly "
                "and instruct the customer liaison (if in doubt, tweet it out).",
            ),
            ChecklistItem(
                "span-of-control",
                "Keep track of your span of control; split off sub-teams if the response grows.",
            ),
            ChecklistItem(
                "wrap-up",
                "Once recovered, announce that the incident is over: make sure the customer liaison "
                "wraps up publicly and identify post-incident clean-up work.",
            ),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.DEPUTY: Checklist(
        "You are there to support the IC in whatever they need.",
        (
            ChecklistItem(
                "monitor",
                "Monitor the status of the incident and notify the IC if/when it escalates in severity.",
            ),
            ChecklistItem("follow-ic", "Follow instructions from the Incident Commander."),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.SCRIBE: Checklist(
        "You are there to document the key information from the incident.",
        (
            ChecklistItem(
                "who-is-who",
                "Post who the IC is, who the Deputy is, and that you are the scribe "
                "(e.g. \u201cIC: Bob Boberson, Deputy: Deputy Deputyson, Scribe: Writer McWriterson\u201d).",
            ),
            ChecklistItem(
                "status-monitor",
                "Make the current status visible to all responders so that nobody needs to ask.",
            ),
            ChecklistItem(
                "notes",
                "Add notes when significant actions are taken or findings are made, and TODO entries "
                "for follow-ups; use your own judgment.",
            ),
            ChecklistItem("follow-ic", "Follow instructions from the Incident Commander."),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.SUBJECT_MATTER_EXPERT: Checklist(
        "Support the incident commander in identifying the cause, suggesting and evaluating repair "
        "actions, and following through on them.",
        (
            ChecklistItem(
                "investigate",
                "Investigate with the graphs and logs at your disposal and announce all findings to the "
                "IC; if unsure of the cause, say you are investigating and give regular updates.",
            ),
            ChecklistItem(
                "suggest",
                "Announce suggestions for resolution to the IC: it is their decision; do not act unless "
                "told to do so.",
            ),
            ChecklistItem("follow-ic", "Follow instructions from the Incident Commander."),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.CUSTOMER_LIAISON: Checklist(
        "Be on stand-by to post public facing messages regarding the incident.",
        (
            ChecklistItem(
                "public-updates",
                "Update the status page (and social accounts) when the IC asks during the call.",
            ),
            ChecklistItem("follow-ic", "Follow instructions from the Incident Commander."),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.INTERNAL_LIAISON: Checklist(
        "Provide updates to internal stakeholders and mobilize additional internal responders as necessary.",
        (
            ChecklistItem("page-others", "Be prepared to page other people as directed by the IC."),
            ChecklistItem(
                "stakeholders",
                "Notify internal stakeholders: the \u201cSEV-1 Stakeholders\u201d and "
                "\u201cSEV-2 Stakeholders\u201d teams.",
            ),
            ChecklistItem(
                "exec-summary",
                "Send the executive team a short summary of the current status roughly every 30 minutes.",
            ),
            ChecklistItem("follow-ic", "Follow instructions from the Incident Commander."),
            ChecklistItem("after", AFTER),
        ),
    ),
    IncidentRole.ON_CALL: Checklist(
        "Resolve the incident as quickly and as safely as possible; use teammates as needed and "
        "delegate tasks to relevant experts at your discretion.",
        (
            ChecklistItem(
                "relevant",
                "Determine if the page is relevant (actual outage, monitoring fluke, bad check...) and "
                "how severe the outage is.",
            ),
            ChecklistItem(
                "tell-customers",
                "Let customers know about the outage and that you are looking into it (with an ETA if "
                "you have one); update the status page.",
            ),
            ChecklistItem("announce", "Announce that you got a page, for what, and how severe it is."),
            ChecklistItem(
                "obvious-cause",
                "Identify if there is an obvious cause (recent deployment, spike in traffic...) and "
                "delegate investigation as needed.",
            ),
            ChecklistItem(
                "bridge", "If others are needed and chat is not enough, open the conference bridge."
            ),
            ChecklistItem(
                "repair-actions", "Identify investigation and repair actions and delegate them as needed."
            ),
            ChecklistItem(
                "span-of-control",
                "Keep track of your span of control; split off sub-teams if the response grows.",
            ),
            ChecklistItem(
                "all-clear",
                "Once recovered, follow up with the customer, identify clean-up work and give the "
                "all-clear on the status page.",
            ),
            ChecklistItem("after", AFTER),
        ),
    ),
}


# A security incident "follows the Security Incident Response process" (the seeds point to it):
# what common practice adds to each role's steps. Keys start with "sec-".
SECURITY_STEPS: dict[str, tuple[ChecklistItem, ...]] = {
    IncidentRole.INCIDENT_COMMANDER: (
        ChecklistItem(
            "sec-need-to-know", "Limit who knows: add people to this incident one by one, with the reason."
        ),
        ChecklistItem(
            "sec-evidence", "Preserve evidence before anything is cleaned up: logs, disk images, tokens."
        ),
        ChecklistItem("sec-legal", "Get a legal and privacy review before any public word."),
    ),
    IncidentRole.DEPUTY: (
        ChecklistItem("sec-evidence", "Keep the chain of evidence: who collected what, when, from where."),
    ),
    IncidentRole.SCRIBE: (
        ChecklistItem(
            "sec-no-secrets", "Record where secrets are and how they are rotated, never the secrets."
        ),
    ),
    IncidentRole.SUBJECT_MATTER_EXPERT: (
        ChecklistItem("sec-evidence", "Preserve evidence before you change or restart anything."),
    ),
    IncidentRole.CUSTOMER_LIAISON: (
        ChecklistItem(
            "sec-disclosure", "Coordinate disclosure: nothing public before the legal and privacy review."
        ),
    ),
    IncidentRole.INTERNAL_LIAISON: (
        ChecklistItem(
            "sec-need-to-know", "Tell stakeholders on a need-to-know basis, never in open channels."
        ),
    ),
}


def checklist_for(role: str, *, security: bool = False) -> Checklist:
    checklist = CHECKLISTS[role]
    if security and SECURITY_STEPS.get(role):
        return Checklist(checklist.purpose, checklist.items + SECURITY_STEPS[role])
    return checklist
