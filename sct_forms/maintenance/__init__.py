"""Keeping stored files and the database in agreement; backups and restores."""
