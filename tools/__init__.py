"""What never runs in Lambda: the local stack, provider simulators, the CLI, training."""
