"""Reliability tier: fault and abuse cases, each bounded by a timeout."""
