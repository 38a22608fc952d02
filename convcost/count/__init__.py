"""Counting: cost formulas, Keras layer rules, the model walker and report rows."""
