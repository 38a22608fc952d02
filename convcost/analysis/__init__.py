"""Analysis on reports and models: memory traffic, roofline, compare, rewrite, verify."""
