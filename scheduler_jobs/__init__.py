"""The scheduler process: APScheduler ticks that enqueue work, each under a Redis lease."""
