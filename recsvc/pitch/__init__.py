"""recsvc.pitch."""
