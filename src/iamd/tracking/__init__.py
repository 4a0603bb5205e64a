"""Tracking: batched Kalman filters and the track pictures of C2 nodes."""
