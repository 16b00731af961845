"""The store: SQLModel tables, the database engine, migrations and the queries services use."""
