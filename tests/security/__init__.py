"""Adversarial tests: one module per class of attack in issue 10 (docs/security.md)."""
