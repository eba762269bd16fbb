"""The thin HTTP front: authenticates, validates, rate-limits, and queues work."""
