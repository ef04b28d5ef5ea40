"""Durable records: SQLite and the CSV files owners open in Excel."""
