"""Model tier: tiny real models saved to disk and loaded through the production loaders."""
