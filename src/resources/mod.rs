//! Resources, data sources and provider functions of the provider.
