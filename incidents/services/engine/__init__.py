"""The paging engine: escalation state, the page outbox and deliveries, advanced by sweeps."""
