"""Monte Carlo replications, their store, statistics and report."""
