//! Text intelligence: tokenising Chinese (jieba words) and English (stemmed), the search index
//! (tantivy), the triage model, the secret guard and safe Markdown. Pure where it can be: the
//! services feed it text from the database and store what it returns.

pub mod guard;
pub mod markdown;
pub mod search;
pub mod tokens;
pub mod triage;
