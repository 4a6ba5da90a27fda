"""The rules, one module each, grouped by family (errors/, database/, ci/, ...); helpers
private to a family live beside its rules. ``analyzers.core.registry`` finds them."""
