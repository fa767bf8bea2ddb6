//! The admin HTTP listener (being written).
