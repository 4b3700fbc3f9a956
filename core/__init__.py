"""The foundation every process imports: settings from the environment, metric declarations,
errors a person can fix. Imports nothing of ours but ``schemas``."""
