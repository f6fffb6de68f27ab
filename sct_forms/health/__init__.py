"""Health and readiness endpoints for load balancers, process managers and monitoring."""
