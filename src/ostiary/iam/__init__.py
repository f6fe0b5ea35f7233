"""IAM: accounts, principals, access keys and (later) users, roles, policies and the policy engine."""
