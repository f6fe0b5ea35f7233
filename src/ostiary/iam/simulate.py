"""IAM policy simulation (being built)."""
