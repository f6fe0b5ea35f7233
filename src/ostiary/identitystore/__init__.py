"""identitystore (awsJson 1.1): the workforce directory of an IAM Identity Center instance (users,
groups, memberships). Importing the package registers its operations."""
