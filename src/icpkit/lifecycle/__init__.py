"""An ICP over time: the version store, the diff between versions, population stability and drift."""
