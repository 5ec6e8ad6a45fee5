"""Matching claims with articles: retrieval of evidence sentences and a stance model."""
