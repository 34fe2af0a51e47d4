//! Text intelligence: tokenising Chinese (jieba words) and English (stemmed), the search index
//! (tantivy, behind the default `search` feature), the triage model, the secret guard, safe
//! Markdown and inbound email (raw RFC 822 to a reply's text). Pure where it can be: the services
//! feed it text from the database and store what it returns.

pub mod guard;
pub mod inbound;
pub mod markdown;
#[cfg(feature = "search")]
pub mod search;
pub mod snippet;
pub mod tokens;
pub mod triage;
