"""Model training (scikit-learn) and its data pipelines: CLI only, never in Lambda."""
