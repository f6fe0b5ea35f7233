"""The AWS access portal (IAM Identity Center's web pages): sign-in of directory users, the device-code
approval page, the accounts and roles a user may use, application tiles. ``urls.py`` names its URLs."""
