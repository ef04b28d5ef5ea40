"""The app's half of the guard pact: heartbeat, watching the guard, the signed exit."""
