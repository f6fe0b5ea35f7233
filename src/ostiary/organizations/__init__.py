"""AWS Organizations (awsJson 1.1) over Ostiary's accounts, and its service control policies.
Importing the package registers its operations."""
