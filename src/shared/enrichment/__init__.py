"""The enricher: a finished job's host utilization, its verdict and its report."""
