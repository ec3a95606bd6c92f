"""recsvc.store."""
