"""Multi-platform reachability validation: on which channels a number can be reached."""
