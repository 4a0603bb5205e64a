"""Pictures of runs: the theatre map."""
