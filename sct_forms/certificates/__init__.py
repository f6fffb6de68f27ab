"""Certificates of the equity requirement's tiers: issued, stored, revoked, checked in public."""
