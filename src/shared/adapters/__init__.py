"""boto3 behind the ports of `shared.ports`, one module per AWS service."""
