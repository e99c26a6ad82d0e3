"""Datasets: references in requests, the store of generated and uploaded datasets, /datasets."""
