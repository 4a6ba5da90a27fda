"""What the service tells its operators: Prometheus metrics shared by the web and worker sides."""
