"""recsvc: the branch cross-sell service."""
