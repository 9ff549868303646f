"""Keys and sealing, encrypted media, authentication, access rules, rate limits, egress guard."""
