"""SCIM 2.0 (RFC 7643/7644) provisioning of an identity store, as AWS gives each instance
(``https://scim.<region>.amazonaws.com/<tenant>/scim/v2/``); Ostiary serves it at
``<public URL>/scim/<identity store id>/v2/`` (routes: ``web/scim.py``).

``tokens.py`` (bearer tokens: two per store, a year each, sha256 at rest), ``filters.py`` (filters and
PATCH paths), ``mapping.py`` (rows ↔ SCIM resources), ``patch.py`` (PATCH on a representation),
``service.py`` (Users and Groups over ``identitystore.records``), ``discovery.py``
(ServiceProviderConfig, ResourceTypes, Schemas). No operations of the AWS API here.
"""
