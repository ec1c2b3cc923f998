"""Rotators: one small class per kind of credential, behind one interface (base.Rotator)."""
