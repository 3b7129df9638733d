"""Lambda entry points: wiring only."""
