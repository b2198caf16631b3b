"""Product usage: events exports → behavioural features, usage signals and product-qualified
accounts (issue 28). See docs/usage.md."""

from icpkit.usage.build import load_usage, with_usage
from icpkit.usage.features import FEATURES, UsageFeatures, usage_features
from icpkit.usage.readers import FORMATS, scan_usage

__all__ = [
    "FEATURES",
    "FORMATS",
    "UsageFeatures",
    "load_usage",
    "scan_usage",
    "usage_features",
    "with_usage",
]
