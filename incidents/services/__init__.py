"""Use cases: the only writers of state. fn(session, *, ids, actor, source); the caller commits."""
