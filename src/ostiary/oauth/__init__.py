"""OAuth 2.0 / OpenID Connect endpoints and the hosted UI."""
