"""Ostiary as a SAML 2.0 identity provider: IAM Identity Center's instance certificate and metadata,
signed responses to business applications (SP- and IdP-initiated)."""
