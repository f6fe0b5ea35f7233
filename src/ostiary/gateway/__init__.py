"""The gateway (issue 15): API Gateway's authorizers in front of any HTTP backend.

``ostiary gateway --config gateway.toml`` (or ``ostiary serve`` with ``gateway_config``) serves the
routes of a configuration file (``config.py``), each forwarded to its upstream by a streaming reverse
proxy (``proxy.py``) after its authorizer (``authorizers/``) allowed the request; the forward-auth
endpoints (``forward_auth.py``) give nginx, Traefik and Envoy the same decisions. The S3 front is the
sibling package ``ostiary.s3front``. The shapes every part shares are in ``model.py``.
"""
