"""Domain logic and AWS adapters of sagewatch, importable without AWS credentials."""
