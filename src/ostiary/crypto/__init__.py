"""Cryptography: secrets at rest, signing keys, JWT, password hashing."""
