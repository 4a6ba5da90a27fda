"""Rules about databases: cascades that delete rows, connection pools."""
