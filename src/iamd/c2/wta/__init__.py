"""Static weapon-target assignment: instances, an independent evaluator, and solvers."""
