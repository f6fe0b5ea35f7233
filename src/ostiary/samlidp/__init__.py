"""Ostiary as a SAML 2.0 identity provider: IAM Identity Center's instance certificate and metadata,
signed responses to business applications (SP- and IdP-initiated)."""

from ostiary.samlidp import identity
from ostiary.ssoadmin import provisioning

# sso-admin's provisioning writes this metadata into each target account's AWSSSO_… SAML provider
if identity.idp_metadata not in provisioning.METADATA:
    provisioning.METADATA.append(identity.idp_metadata)
