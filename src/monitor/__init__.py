"""claim-monitor: watch news feeds for stories that corroborate or contradict seed claims."""

__version__ = "0.1.0"
