//! `ApiQuery<T>`: the query-string extractor of the API. A missing or mistyped parameter is 422
//! naming it, in the API's error format (axum's own `Query` answers 400 in plain text).

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parses a query string, naming the parameter at fault.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = url::form_urlencoded::parse(query.as_bytes());
    if let Some((key, _)) = pairs.into_iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(crate::json::nul_refused(key.into_owned()));
    }
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = thaw_domain::json::blamed_field(path, &message);
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", format!("{field}: {message}")).field(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Params {
        account_id: String,
        limit: Option<i64>,
    }

    #[test]
    fn a_missing_or_mistyped_parameter_is_422_naming_it() {
        let p = parse::<Params>("account_id=u-1&limit=20").unwrap();
        assert_eq!((p.account_id.as_str(), p.limit), ("u-1", Some(20)));
        let e = parse::<Params>("limit=20").unwrap_err();
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", Some("account_id"))
        );
        let e = parse::<Params>("account_id=u-1&limit=9223372036854775808").unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")));
        let e = parse::<Params>("account_id=u-1&limit=ten").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        let e = parse::<Params>("account_id=u%001").unwrap_err();
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", Some("account_id"))
        );
    }
}
