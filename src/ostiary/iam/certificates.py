"""IAM certificates (being built)."""
