"""Trust in external identity providers: OpenID Connect issuers (discovery + JWKS) and SAML 2.0."""
