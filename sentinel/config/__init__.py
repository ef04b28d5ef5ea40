"""config.json: the values (`model`), their validation and atomic writes, and hot reload (`watch`)."""
