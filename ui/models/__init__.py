"""Qt item models over the core: the CI table, a CI's relationships and history,
lists of CI references (pickers), and the navigator."""
