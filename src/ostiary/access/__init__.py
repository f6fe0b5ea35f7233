"""Access decisions: who is calling and what they may do, below both the protocol layer and IAM.

- ``principals``: the principal a verified signature resolves to (root, IAM user, role session,
  federated user);
- ``accounts``: accounts and their root keys, and the key records SigV4 resolves
  (long-term keys and temporary credentials);
- ``access_keys``: SigV4 key resolution with its short cache, the last-use recorder, and
  development mode's any-key resolver;
- ``policy``: the policy engine (pure: parse, conditions, evaluation; its ``Decision`` is the one
  decision enum);
- ``policy_sources``: the stored policies that apply to a caller (inline, attached, by group),
  read-only; ``aws_managed``: AWS's managed-policy and service-linked-role catalogues (``data/``);
- ``authz``: the ``Authorizer`` of signed calls and the one request-context builder
  (``request_keys``/``request_context``) that AssumeRole and the policy simulator use too.

``protocol`` (dispatch, request context) and ``iam``/``sts``/``identitypools`` import from here;
nothing here imports them.
"""
