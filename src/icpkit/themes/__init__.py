"""Pain themes from notes: embed offline, cluster, label, test against outcomes, messaging."""
