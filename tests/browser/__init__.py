"""Browser tier: the search page in a real headless Chromium."""
