"""アンケートの集計 in the admin (step 9): being written."""
