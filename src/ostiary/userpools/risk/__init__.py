"""The risk engine of user pools' threat protection (issue 16), in two parts:

- adaptive authentication: each sign-in scored NoRisk/Low/Medium/High from what Ostiary observes
  (devices, networks, failure velocity, GeoIP when configured) and AccountTakeoverRiskConfiguration's
  actions taken (``adaptive.py`` and the modules beside it: ``signals.py``, ``geoip.py``…);
- compromised credentials: passwords checked against a breached-password corpus and
  CompromisedCredentialsRiskConfiguration's actions taken (``compromised.py``).

What records events and holds the risk configuration is ``userpools/threat_protection.py``.
"""
