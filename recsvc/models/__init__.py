"""recsvc.models."""
