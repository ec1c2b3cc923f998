"""The intake edge: monitoring payloads in, incidents out."""
