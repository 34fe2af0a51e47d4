//! Reading JSON bodies: bytes that are not JSON are told apart from JSON of the wrong shape, and a
//! shape error names its field (missing, unknown or mistyped) by its path, e.g. `geo.lat`. The
//! HTTP layer maps the two to 400 and 422; the fuzz targets decode with the same function.

use serde::de::DeserializeOwned;
use std::fmt;

/// Why bytes could not be read as a `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all: a syntax error or a truncated body.
    Malformed(String),
    /// JSON, but not of the expected shape; `field` is the path of the offending field.
    Shape { field: String, message: String },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Malformed(message) => write!(f, "the body is not valid JSON: {message}"),
            JsonError::Shape { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Deserialises `bytes`; a shape error names the field it is about.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => JsonError::Malformed(inner.to_string()),
            Category::Data => {
                let message = inner.to_string();
                // Missing and unknown fields are reported by serde at the parent path; name the field itself.
                let named = ["missing field `", "unknown field `"]
                    .iter()
                    .find_map(|prefix| message.strip_prefix(prefix).and_then(|m| m.split('`').next()));
                let field =
                    match named {
                        Some(name) if path == "." || path == name || path.ends_with(&format!(".{name}")) => {
                            if path == "." { name.to_string() } else { path }
                        }
                        Some(name) => format!("{path}.{name}"),
                        None => path,
                    };
                JsonError::Shape { field, message }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        level: Option<i64>,
    }

    fn field_of(bytes: &[u8]) -> Option<String> {
        match decode::<Body>(bytes) {
            Err(JsonError::Shape { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn syntax_errors_are_malformed_and_shape_errors_name_the_field() {
        assert!(matches!(decode::<Body>(b"{\"name\": "), Err(JsonError::Malformed(_))));
        assert!(matches!(decode::<Body>(b"{\"name\": \"a\"} x"), Err(JsonError::Malformed(_))));
        assert_eq!(field_of(b"{\"name\": \"a\", \"level\": \"high\"}").as_deref(), Some("level"));
        assert_eq!(field_of(b"{}").as_deref(), Some("name"));
        assert_eq!(field_of(b"{\"name\": \"a\", \"colour\": 1}").as_deref(), Some("colour"));
        assert_eq!(decode::<Body>(b"{\"name\": \"a\"}").map(|b| b.name), Ok("a".to_string()));
    }
}
