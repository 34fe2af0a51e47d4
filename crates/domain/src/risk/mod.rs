//! Risk: the platform's events, the decisions thaw takes on them, the reasons it gives, and the
//! holds it places with the policy that says who may lift them.

pub mod decision;
pub mod event;
pub mod event_body;
pub mod geo;
pub mod hold;
pub mod reason;

pub use decision::{Action, Decision};
pub use event::{DeviceFlag, Event, EventInput, EventKind, Geo, Money};
pub use event_body::{EventBody, GeoBody};
pub use geo::distance_km;
pub use hold::{Actor, Hold, HoldOrigin, HoldStatus, ReleasePolicy, ReleaseRefusal, Scope, ScopeSet};
pub use reason::{Explanation, Facts, Reason, render_template};
