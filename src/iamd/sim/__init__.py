"""Discrete-event simulation of one replication."""
