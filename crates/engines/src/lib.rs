//! The engines of thaw: pure computations over domain types, free of I/O and benchmarked.
//! Now: risk evaluation — built-in detectors and operators' rules, configured by a policy file.

pub mod risk;
