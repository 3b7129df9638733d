"""What the sagewatch functions run, importable without AWS credentials. Layered: platform, domain,
contracts, adapters and ports, then the services (enrichment, alerting, fleet); see
docs/architecture.md."""
