"""Parts of the synthetic CRM generator; the public entry point is icpkit.datasets."""
