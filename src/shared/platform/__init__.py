"""Lambda plumbing every function shares; nothing here knows SageMaker."""
