"""Email through an outbox: queued with the change it reports, sent afterwards by the job queue.

- :mod:`.outbox`: rendering the email templates, who gets which email, adding the rows;
- :mod:`.delivery`: sending what is due, with claims (two workers never send one message
  twice) and retries with backoff; :mod:`.smtp` talks to the mail server;
- :mod:`.tasks`: the job-queue tasks, queued when a transaction that added mail commits and
  every minute as a sweep;
- :mod:`.cli`: ``flask deliver-outbox``, the same delivery by hand or from cron.
"""
