"""IAM service credentials (being built)."""
