"""Reminder emails: deadlines, waiting change requests, the reviewers' weekly digest."""
