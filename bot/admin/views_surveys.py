"""アンケート in the admin (step 9): being written."""
