"""Offline pipeline: synthetic bank, training, evaluation, registry."""
