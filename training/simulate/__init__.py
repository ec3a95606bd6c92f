"""The branch simulator: drives the real service with customers whose answers come from the
synthetic bank's hidden truth (training.synth.truth). See docs/simulator.md."""
