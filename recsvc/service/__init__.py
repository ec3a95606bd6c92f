"""recsvc.service."""
