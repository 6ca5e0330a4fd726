"""Auto-graded exercise platform for notebook assignments."""
