"""sso-oidc (rest-json): the OIDC service the AWS CLI and SDKs sign in through (RegisterClient,
StartDeviceAuthorization, CreateToken). Importing the package registers its operations."""
