"""The AWS SDK (botocore's clients) behind the ports of `shared.ports`, one module per service."""
