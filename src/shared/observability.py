"""Powertools Logger and Tracer, set up once for every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

SERVICE = "sagewatch"
METRICS_NAMESPACE = "SageWatch"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
