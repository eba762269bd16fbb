"""Reading samples out of a Prometheus text scrape."""


def sample(scrape: str, series: str) -> float | None:
    """The value of `series`, written as the scrape prints it (name and labels); None if absent."""
    for line in scrape.splitlines():
        name, _, value = line.rpartition(" ")
        if name == series:
            return float(value)
    return None
