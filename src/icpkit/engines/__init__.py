"""Scoring engines beyond one process: Spark runs icpkit's own Arrow batch scorer on a cluster."""
