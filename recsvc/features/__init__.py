"""recsvc.features."""
