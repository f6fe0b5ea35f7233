"""The S3 front (issue 15): an S3 endpoint that verifies SigV4 (header, presigned URL, chunked
streaming with or without a trailer), maps each request to its S3 action and resource, decides with
the policy engine (the caller's identity, session and boundary policies, SCPs, and bucket policies
stored here) and forwards the allowed ones, re-signed with the operator's credentials and streamed, to
an upstream S3-compatible store. S3's XML errors exactly as S3 answers them.

Request side: ``signature.py`` (SigV4 for S3, the aws-chunked body decoder), ``operations.py`` (the
request's operation, actions, resources, condition keys), ``errors.py`` (S3's XML errors). Decision and
upstream: ``decide.py``, ``bucket_policies.py``, ``upstream.py``, ``app.py``. Shared shapes:
``model.py``.
"""
