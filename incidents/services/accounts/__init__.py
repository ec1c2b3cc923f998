"""Console accounts: users, passwords, second factors, sign-in, one-time links."""
