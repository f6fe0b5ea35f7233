"""Cognito identity pools (cognito-identity)."""
