"""IAM instance profiles (being built)."""
