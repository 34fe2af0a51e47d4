//! The business of thaw, free of I/O: who the account holders and staff are, what they may do,
//! and the rules their data must follow. Time and randomness are passed in, never taken.

pub mod account;
pub mod case;
pub mod category;
pub mod channels;
pub mod error;
pub mod json;
pub mod locale;
pub mod risk;
pub mod staff;

pub use account::{Account, AccountId, AccountInput, Email, Phone};
pub use category::CaseCategory;
pub use error::Invalid;
pub use locale::Locale;
pub use staff::{NewStaff, Permission, Role, Skills, StaffMember, StaffProfile, platform_key_can};
