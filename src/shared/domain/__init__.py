"""SageMaker facts and pure rules: events, statuses, hardware, prices, utilization. No I/O."""
