"""Discord: message building, Discord's limits, the durable outbox, delivery, the demo folder sink."""
