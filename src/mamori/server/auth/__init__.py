"""Identity: users, API tokens, agent access keys, login sessions, audit log."""
