"""IAM account settings (being built)."""
