"""Lead scoring: features, the cold-start prior, tree models served as numpy arrays,
per-feature factors, training (scikit-learn, CLI only) and the S3 model registry."""
