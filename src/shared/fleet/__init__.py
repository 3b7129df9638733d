"""The fleet function: heartbeats, inventories, silent accounts, idle endpoints."""
