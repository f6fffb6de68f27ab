"""The app as it is deployed on several servers: PostgreSQL, Redis, S3 storage (SeaweedFS), two
gunicorn app servers and a queue worker, each process with its own instance folder.

Run with ``SCT_TOPOLOGY_TEST=1``; the normal suite skips it.
"""
