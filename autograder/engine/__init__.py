"""The grader's side of execution: intake of a submission, the fork-server client, worker slots and
the executor that reads a worker's reports. Runs in the grader; never runs student code."""
