"""Entry points that compose the layers: operator commands, `make run`, the dashboard."""
