"""Provider simulator: the validation adapters' protocol with deterministic ground truth."""
