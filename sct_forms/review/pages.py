"""The review page's context: a frozen revision step by step, with the reviewers' work.

It gathers what the page shows through ``review.queries`` and presents it; it runs no query
itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sct_forms.domain import workflow
from sct_forms.domain.toolkit_definition import Step
from sct_forms.models import ChangeRequest, ReviewComment, Revision, Toolkit
from sct_forms.review import queries, services
from sct_forms.review.queries import comments_of, requests_of
from sct_forms.toolkits.presenters import build_items, question_labels
from sct_forms.toolkits.services import definition_for


@dataclass
class ReviewStep:
    step: Step
    items: list
    evidence: list[dict]
    verdict: str | None
    comments: list[ReviewComment] = field(default_factory=list)
    requests: list[ChangeRequest] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)  # (value, label) to pin to


def review_page_context(toolkit: Toolkit, frozen: Revision, language: str) -> dict[str, Any]:
    definition = definition_for(toolkit)
    step_verdicts = services.verdicts(toolkit, frozen.number)
    comments = comments_of(toolkit, include_internal=True)
    requests = requests_of(toolkit)
    steps = []
    for step in definition.steps:
        evidence = [e for e in frozen.evidence if e["step_key"] == step.key]
        labels = question_labels(step, language)
        targets = [(q.key, labels[q.key]) for q in step.questions] + [
            (f"evidence:{e['sha256']}", e["title"]) for e in evidence
        ]
        steps.append(
            ReviewStep(
                step=step,
                items=build_items(step, frozen.answers.get(step.key, {}), [], language),
                evidence=evidence,
                verdict=step_verdicts.get(step.key),
                comments=[c for c in comments if c.step_key == step.key],
                requests=[r for r in requests if r.step_key == step.key],
                targets=targets,
            )
        )
    return {
        "toolkit": toolkit,
        "revision": frozen,
        "revisions": queries.revisions_of(toolkit),
        "is_latest": frozen.number == toolkit.revision_count,
        "definition": definition,
        "language": language,
        "steps": steps,
        "general_comments": [c for c in comments if c.step_key is None],
        "open_requests": [r for r in requests if r.status != "closed"],
        # Verdicts, requests and decisions ask the claim rule (the global ``may_decide``).
        "may_comment": lambda user: workflow.may(user.role, toolkit.state, "comment"),
        "held_since": queries.held_since([toolkit.id]).get(toolkit.id),
        "reviewers": queries.active_reviewers(),
        "timeline": queries.timeline(toolkit, for_town=False),
        "target_label": lambda step, target: _target_label(
            step, target, language, evidence=frozen.evidence
        ),
    }


def _target_label(step: Step, target: str | None, language: str, evidence: list[dict]) -> str:
    if not target:
        return ""
    if target.startswith("evidence:"):
        sha = target.split(":", 1)[1]
        return next((e["title"] for e in evidence if e["sha256"] == sha), sha[:12])
    return question_labels(step, language).get(target, target)
