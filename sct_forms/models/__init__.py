"""All models, importable from one place (Alembic and the app read this module)."""

from sct_forms.models.audit import AuditEvent
from sct_forms.models.certificates import Certificate, CertificateDocument
from sct_forms.models.coaching import CoachComment, CoachRequest
from sct_forms.models.outbox import OutboxMessage
from sct_forms.models.reference import Action, Category, Cycle, Municipality
from sct_forms.models.reminders import ReminderSent
from sct_forms.models.review import ChangeRequest, ReviewComment, Revision, StepVerdict
from sct_forms.models.tokens import AccountToken
from sct_forms.models.toolkits import Evidence, StepAnswers, Toolkit
from sct_forms.models.types import utcnow
from sct_forms.models.users import (
    ROLES,
    CoachAssignment,
    SignInFailure,
    User,
    new_session_nonce,
)

__all__ = [
    "ROLES",
    "AccountToken",
    "Action",
    "AuditEvent",
    "Category",
    "Certificate",
    "CertificateDocument",
    "ChangeRequest",
    "CoachAssignment",
    "CoachComment",
    "CoachRequest",
    "Cycle",
    "Evidence",
    "Municipality",
    "OutboxMessage",
    "ReminderSent",
    "ReviewComment",
    "Revision",
    "SignInFailure",
    "StepVerdict",
    "StepAnswers",
    "Toolkit",
    "User",
    "new_session_nonce",
    "utcnow",
]
