"""Ostiary's own HTTP resources outside the AWS APIs and the OAuth endpoints: Starlette routes that
call service functions, so the service modules know nothing of HTTP (docs/architecture.md).

- ``import_upload``: ``PUT /_ostiary/import/<jobId>``, the user-import CSV (an S3-style pre-signed URL);
- ``ui_logo``: ``GET /_ostiary/ui/<poolId>/<clientId>/logo``, the hosted UI's logo (the ImageUrl);
- ``managed_login_assets``: ``GET /_ostiary/branding/<poolId>/<brandingId>/<category>/<colorMode>``,
  a managed login style's image assets;
- ``identity_issuer``: the cognito-identity OpenID issuer's discovery document and JWKS.
"""
