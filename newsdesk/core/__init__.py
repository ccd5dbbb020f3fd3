"""Core: the domain types, errors, settings and text analysis every other layer uses."""
