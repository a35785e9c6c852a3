"""The reference server: Placement's allocations API, served from the spec."""
