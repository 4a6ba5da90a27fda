"""SQL read as text: the DDL statements that create foreign keys and cascades."""
