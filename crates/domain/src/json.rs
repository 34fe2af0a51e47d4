//! Reading JSON bodies (every body of the API is a JSON object): bytes that are not JSON are told
//! apart from JSON that is not an object and from an object of the wrong shape, and a shape error
//! names its field (missing, unknown, repeated or mistyped) by its path, e.g. `geo.lat`. The HTTP
//! layer maps the first to 400 and the others to 422; the fuzz targets decode with this function.

use serde::de::DeserializeOwned;
use std::fmt;

/// Why bytes could not be read as a `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all: a syntax error or a truncated body.
    Malformed(String),
    /// JSON, but an array, a string, a number, `true`, `false` or `null` instead of an object.
    NotAnObject,
    /// JSON, but not of the expected shape; `field` is the path of the offending field.
    Shape { field: String, message: String },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Malformed(message) => write!(f, "the body is not valid JSON: {message}"),
            JsonError::NotAnObject => f.write_str("the body must be a JSON object: {…}"),
            JsonError::Shape { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Deserialises the JSON object in `bytes` into `T`; a shape error names the field it is about.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    // serde reads a struct from an array of its fields in order too; a body is an object only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(_) => JsonError::NotAnObject,
            Err(e) => JsonError::Malformed(e.to_string()),
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => JsonError::Malformed(inner.to_string()),
            Category::Data => {
                let message = inner.to_string();
                let field = blamed_field(path, &message);
                JsonError::Shape { field, message }
            }
        }
    })?;
    // Only whitespace may follow the object (found by fuzzing: trailing bytes were ignored).
    de.end().map_err(|e| JsonError::Malformed(e.to_string()))?;
    Ok(value)
}

/// The field a serde error at `path` is about: missing and repeated fields are reported at the
/// parent path, so the field itself is named; an unknown field's path ends with the key as
/// written (backticks and dots included), which the message cannot quote unambiguously.
pub fn blamed_field(path: String, message: &str) -> String {
    if message.starts_with("unknown field `") && path != "." {
        return path;
    }
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix).and_then(|m| m.split('`').next()));
    match named {
        Some(name) if path == "." || path == name || path.ends_with(&format!(".{name}")) => {
            if path == "." {
                name.to_string()
            } else {
                path
            }
        }
        Some(name) => format!("{path}.{name}"),
        None => path,
    }
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
        assert!(matches!(decode::<Body>(b"{\"name\": \"a\"}\x95\0"), Err(JsonError::Malformed(_))));
        assert!(decode::<Body>(b" {\"name\": \"a\"}\r\n").is_ok());
        assert_eq!(field_of(b"{\"name\": \"a\", \"level\": \"high\"}").as_deref(), Some("level"));
        assert_eq!(field_of(b"{}").as_deref(), Some("name"));
        assert_eq!(field_of(b"{\"name\": \"a\", \"colour\": 1}").as_deref(), Some("colour"));
        assert_eq!(decode::<Body>(b"{\"name\": \"a\"}").map(|b| b.name), Ok("a".to_string()));
    }

    #[test]
    fn only_an_object_is_a_body() {
        // Found by fuzzing: serde accepted an array of the fields in order as a body.
        assert!(matches!(decode::<Body>(b"[\"a\", 1]"), Err(JsonError::NotAnObject)));
        for other in [&b" 1"[..], b"\"name\"", b"null", b"true", b"[]"] {
            assert_eq!(decode::<Body>(other).unwrap_err(), JsonError::NotAnObject, "{other:?}");
        }
        assert!(matches!(decode::<Body>(b""), Err(JsonError::Malformed(_))));
        assert!(matches!(decode::<Body>(b"[1,"), Err(JsonError::Malformed(_))));
        // A string of bytes that are not UTF-8 is not JSON.
        assert!(matches!(decode::<Body>(b"\"\x93\x8c\""), Err(JsonError::Malformed(_))));
    }

    #[test]
    fn an_unknown_field_is_named_as_written() {
        // Found by fuzzing: a backtick in the key cut the name short ("dev`ce" named "dev`ce.dev").
        assert_eq!(field_of(b"{\"name\": \"a\", \"dev`ce\": 1}").as_deref(), Some("dev`ce"));
        assert_eq!(field_of(b"{\"na.me\": 1}").as_deref(), Some("na.me"));
    }

    #[test]
    fn a_repeated_field_is_named() {
        // Found by fuzzing: serde reports it at the parent path, which named the field ".".
        assert_eq!(field_of(b"{\"name\": \"a\", \"level\": 1, \"name\": \"b\"}").as_deref(), Some("name"));
    }
}
