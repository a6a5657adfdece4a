"""Everything MinIO: validation, content-addressed storage, renditions, CDN URLs."""
