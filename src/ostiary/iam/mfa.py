"""IAM virtual MFA devices (being built)."""
