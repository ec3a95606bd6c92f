"""recsvc.rules."""
