"""Models: the zoo of reference nets built by name, and loading model files."""
