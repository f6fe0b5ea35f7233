"""Email and SMS delivery."""
