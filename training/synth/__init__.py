"""The synthetic bank: a generator with hidden propensities, and a reader for its files."""
