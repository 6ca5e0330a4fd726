"""What people read and platforms take: results.json, feedback, grades.csv, the staff report,
merged shards and exports. Reads graded reports; never runs student code."""
