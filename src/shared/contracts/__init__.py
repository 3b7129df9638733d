"""What one part hands another, versioned: the utilization report, the inventory
snapshot, the alert document."""
