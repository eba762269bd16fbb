"""Dramatiq actors: the workers' side of booking, generation, expiry and events."""
