"""Analytics: models that turn a corp's purchase history into predictions (customer lifetime value)."""
