"""The alerter: failures and wasted hardware to alert documents, storm control, delivery."""
