"""Orders: imports from platform exports and tills, the real-time order API, the console page."""
