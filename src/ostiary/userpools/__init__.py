"""Cognito user pools (cognito-idp), split by area the way AWS groups the operations."""
