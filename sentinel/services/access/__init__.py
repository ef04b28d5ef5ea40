"""Who may do what: the password vault (scrypt, machine-bound seal, tamper evidence, lockout)."""
