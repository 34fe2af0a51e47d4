//! The risk engine: given an event, the account's profile and its risk state, decide allow /
//! challenge / hold / block with reasons that carry the facts, and update the state.

pub mod conditions;
pub mod detectors;
pub mod duration;
pub mod engine;
pub mod lists;
pub mod policy;
pub mod state;

pub use engine::{Engine, HoldPlan, Outcome, Profile};
pub use policy::{Policy, PolicyError};
pub use state::AccountState;
