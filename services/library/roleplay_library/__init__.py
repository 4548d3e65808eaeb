"""Library service: keeps images: server-side copy to the library, thumbnails, signed URLs."""
