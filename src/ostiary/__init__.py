"""Ostiary: a self-hosted identity platform speaking Cognito, STS and IAM wire protocols."""

__version__ = "0.1.0"
