"""The breach playbook: runs of ordered steps that notify customers and rotate credentials,
resumable after a crash and rehearsed as drills (rules in incidents.domain.playbook)."""
