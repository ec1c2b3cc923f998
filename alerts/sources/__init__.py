"""One pure parser per monitoring source: payload in, normalised alerts out, no database."""
