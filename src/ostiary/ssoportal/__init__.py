"""sso (rest-json, the access portal's API: ListAccounts, ListAccountRoles, GetRoleCredentials, Logout),
authorized by the bearer token sso-oidc issues. Importing the package registers its operations."""
