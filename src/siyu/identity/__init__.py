"""Customers and their identities: normalisation, rules, resolution, merge and split."""
