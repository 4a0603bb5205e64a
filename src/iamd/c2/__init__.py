"""Battle management: threat assessment, fire-unit envelopes, assignment doctrine."""
