"""Threat flight models and the precomputed truth table."""
