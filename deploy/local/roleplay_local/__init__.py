"""Local provisioning of the system's servers (Kafka, PostgreSQL, MinIO) and of the system."""
