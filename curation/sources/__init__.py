"""Readers that stream raw rows out of each source kind with their location, in bounded memory."""
