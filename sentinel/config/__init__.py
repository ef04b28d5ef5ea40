"""config.json: its sections and keys (`model`), the validators behind them (`checks`), hot reload (`watch`)."""
