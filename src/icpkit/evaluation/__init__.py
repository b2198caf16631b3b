"""Evaluation of an ICP: the out-of-time cut (backtest), KPIs by tier, and the validation result."""
