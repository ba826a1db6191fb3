"""SMS sender adapters behind one contract (base.py)."""
