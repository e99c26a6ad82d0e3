"""Where job records live: the rules (base), and the SQLite and Redis implementations."""
