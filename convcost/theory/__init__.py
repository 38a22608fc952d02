"""Theory: the cost formulas evaluated on sympy symbols, and what follows from them."""
