"""Lead scoring: features, the cold-start prior, tree models served as numpy arrays,
per-feature factors and the S3 model registry. Training lives in tools/training/."""
