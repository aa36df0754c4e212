"""Evaluation: classification accuracy now; linear probe, kNN and zero-shot as methods land."""
