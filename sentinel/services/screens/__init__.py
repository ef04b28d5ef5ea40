"""Screenshots (routine and evidence) and privacy mode, which stops them all."""
