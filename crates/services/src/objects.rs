//! Evidence attachments on support cases: which files thaw accepts (judged from their bytes, never
//! from their name or declared type) and where they are kept, under the SHA-256 of their content:
//! a local directory, or an S3-compatible bucket when built with the `s3` feature.

use crate::random_hex;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
#[cfg(feature = "s3")]
use url::Url;

/// How much of a file is read to decide whether it is text.
const TEXT_SNIFF_BYTES: usize = 64 * 1024;

/// What kinds of file thaw accepts, sniffed from the bytes (never from the name or declared type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Pdf,
    Text,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Png, Kind::Jpeg, Kind::Gif, Kind::Webp, Kind::Pdf, Kind::Text];

    /// The type to serve the file with (together with `X-Content-Type-Options: nosniff`, so a
    /// browser never reinterprets text as HTML).
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
            Kind::Text => "text/plain; charset=utf-8",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Kind::Png | Kind::Jpeg | Kind::Gif | Kind::Webp)
    }

    /// The stable name stored beside the object and shown in the API.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::Text => "text",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The file name extension for downloads.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpg",
            Kind::Gif => "gif",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::Text => "txt",
        }
    }
}

/// Sniffs the type from magic bytes: PNG, JPEG, GIF87a/89a, WebP (`RIFF????WEBP`), PDF (`%PDF-`).
/// Anything else is text if its first 64 KiB are UTF-8 (a character cut at that boundary is
/// allowed) without NUL or control characters other than tab, line feed, carriage return and
/// form feed. Text that starts with `<` (after whitespace and a byte-order mark) is refused as
/// markup: HTML or SVG kept as evidence must not become stored XSS. Everything else is `None`.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some(Kind::Webp)
    } else if bytes.starts_with(b"%PDF-") {
        Some(Kind::Pdf)
    } else if is_plain_text(bytes) {
        Some(Kind::Text)
    } else {
        None
    }
}

fn is_plain_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(TEXT_SNIFF_BYTES)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // `error_len() == None` means the input ended inside a character: fine only where we cut.
        Err(e) if e.error_len().is_none() && head.len() < bytes.len() => {
            match std::str::from_utf8(&head[..e.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    if text.is_empty() || text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')) {
        return false;
    }
    !text.trim_start_matches('\u{feff}').trim_start().starts_with('<')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_files_per_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 10 * 1024 * 1024, max_files_per_message: 5 }
    }
}

/// Why an attachment was not accepted. Messages are safe to show to whoever uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is {size} bytes; a file may be at most {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("the file is empty")]
    Empty,
    #[error("files of this type ({declared}) are not accepted; send PNG, JPEG, GIF, WebP, PDF or plain text")]
    Type { declared: String },
    #[error("{count} files attached; at most {max} may be attached to one message")]
    TooMany { count: usize, max: usize },
}

impl Refused {
    pub fn code(&self) -> &'static str {
        match self {
            Refused::TooLarge { .. } => "too_large",
            Refused::Empty => "empty",
            Refused::Type { .. } => "refused_type",
            Refused::TooMany { .. } => "too_many",
        }
    }
}

/// Checks one file against the limits and sniffs it; Ok(kind) or the rule it broke. The declared
/// type only appears in the refusal: what the file is comes from its bytes.
pub fn check(bytes: &[u8], declared_type: &str, limits: &Limits) -> Result<Kind, Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(Refused::TooLarge { size: bytes.len(), max: limits.max_bytes });
    }
    sniff(bytes).ok_or_else(|| {
        // The declared type is the sender's text: keep it short enough to show and to log.
        let declared: String = declared_type.trim().chars().take(100).collect();
        Refused::Type { declared: if declared.is_empty() { "unknown".into() } else { declared } }
    })
}

/// Checks how many files one message carries.
pub fn check_count(count: usize, limits: &Limits) -> Result<(), Refused> {
    if count > limits.max_files_per_message {
        return Err(Refused::TooMany { count, max: limits.max_files_per_message });
    }
    Ok(())
}

/// The SHA-256 of the content, lowercase hex: the object's key.
pub fn content_key(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `key` has the shape of a content key (64 lowercase hex digits), so it can name nothing
/// but an object: no separators, no `..`.
pub fn is_content_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What went wrong in object storage. The detail is for the log; [`StoreFailure::code`] is for
/// the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreFailure {
    #[error("object storage I/O failed: {0}")]
    Io(String),
    #[error("object storage request failed: {0}")]
    Remote(String),
    /// The stored bytes no longer hash to their key (the key is the payload).
    #[error("object {0} is corrupt: its content does not match its hash")]
    Corrupt(String),
    /// The key is not a content key; refused before any storage was touched.
    #[error("{0:?} is not an object key")]
    BadKey(String),
}

impl StoreFailure {
    pub fn code(&self) -> &'static str {
        match self {
            StoreFailure::Io(_) => "storage_io",
            StoreFailure::Remote(_) => "storage_remote",
            StoreFailure::Corrupt(_) => "corrupt_object",
            StoreFailure::BadKey(_) => "bad_key",
        }
    }
}

fn require_key(key: &str) -> Result<(), StoreFailure> {
    if is_content_key(key) { Ok(()) } else { Err(StoreFailure::BadKey(key.chars().take(80).collect())) }
}

fn verified(key: &str, bytes: Vec<u8>) -> Result<Vec<u8>, StoreFailure> {
    if content_key(&bytes) == key {
        Ok(bytes)
    } else {
        tracing::error!(key = %key, "stored object does not match its content hash");
        Err(StoreFailure::Corrupt(key.to_string()))
    }
}

/// Where objects live. Keys are content hashes, so a put of existing content is a no-op.
#[derive(Debug, Clone)]
pub enum ObjectStore {
    Local(LocalDir),
    #[cfg(feature = "s3")]
    S3(S3Bucket),
}

impl ObjectStore {
    pub fn local(root: impl Into<PathBuf>) -> Self {
        ObjectStore::Local(LocalDir::new(root))
    }

    /// An S3-compatible bucket from one URL:
    /// `https://ACCESS_KEY:SECRET@host[:port]/bucket?region=eu-west-1[&path_style=false]`.
    #[cfg(feature = "s3")]
    pub fn s3_from_url(s: &str) -> Result<Self, String> {
        let url = Url::parse(s.trim()).map_err(|e| format!("not a URL: {e}"))?;
        let decode = |v: &str| {
            url::form_urlencoded::parse(format!("v={}", v.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let access = decode(url.username());
        let secret = decode(url.password().unwrap_or(""));
        let mut segments =
            url.path_segments().map(|s| s.filter(|x| !x.is_empty()).collect::<Vec<_>>()).unwrap_or_default();
        let bucket = segments.pop().ok_or("the URL's path names the bucket")?.to_string();
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let region = query.get("region").cloned().unwrap_or_else(|| "us-east-1".into());
        let path_style = query.get("path_style").is_none_or(|v| v != "false");
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let _ = endpoint.set_username("");
        let _ = endpoint.set_password(None);
        endpoint.set_path(&segments.join("/"));
        S3Bucket::new(endpoint, &bucket, &region, &access, &secret, path_style).map(ObjectStore::S3)
    }

    /// Stores `bytes` and returns their key.
    pub async fn put(&self, bytes: &[u8]) -> Result<String, StoreFailure> {
        match self {
            ObjectStore::Local(dir) => dir.put(bytes).await,
            #[cfg(feature = "s3")]
            ObjectStore::S3(bucket) => bucket.put(bytes).await,
        }
    }

    /// The object's bytes, checked against its key; `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        require_key(key)?;
        match self {
            ObjectStore::Local(dir) => dir.get(key).await,
            #[cfg(feature = "s3")]
            ObjectStore::S3(bucket) => bucket.get(key).await,
        }
    }

    /// Removes the object; removing one that is not there succeeds.
    pub async fn delete(&self, key: &str) -> Result<(), StoreFailure> {
        require_key(key)?;
        match self {
            ObjectStore::Local(dir) => dir.delete(key).await,
            #[cfg(feature = "s3")]
            ObjectStore::S3(bucket) => bucket.delete(key).await,
        }
    }

    /// Where objects go, for logs and the admin page; never carries credentials.
    pub fn describe(&self) -> String {
        match self {
            ObjectStore::Local(dir) => format!("local directory {}", dir.root.display()),
            #[cfg(feature = "s3")]
            ObjectStore::S3(bucket) => format!("s3 {}", bucket.bucket_url.as_str().trim_end_matches('/')),
        }
    }
}

/// Objects as files: `root/ab/cd/abcd…` (the full hash), two levels of fan-out so that no
/// directory grows large. Files are written to a temporary name in their final directory and
/// renamed, so a reader sees a whole object or none.
#[derive(Debug, Clone)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, refusing anything but a content key before the filesystem is touched.
    fn path_of(&self, key: &str) -> Result<(PathBuf, PathBuf), StoreFailure> {
        require_key(key)?;
        let dir = self.root.join(&key[..2]).join(&key[2..4]);
        let path = dir.join(key);
        Ok((dir, path))
    }

    async fn put(&self, bytes: &[u8]) -> Result<String, StoreFailure> {
        let key = content_key(bytes);
        let (dir, path) = self.path_of(&key)?;
        match read_verified(&path, &key).await {
            Ok(Some(_)) => return Ok(key),
            Ok(None) => {}
            // A put of the same content repairs a damaged copy.
            Err(StoreFailure::Corrupt(_)) => tracing::warn!(key = %key, "rewriting a corrupt object"),
            Err(e) => return Err(e),
        }
        tokio::fs::create_dir_all(&dir).await.map_err(|e| io_failure("create", &dir, e))?;
        let temp = dir.join(format!(".{key}.{}.tmp", random_hex(8)));
        if let Err(e) = write_synced(&temp, bytes).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_failure("write", &temp, e));
        }
        if let Err(e) = tokio::fs::rename(&temp, &path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_failure("rename into", &path, e));
        }
        // Makes the rename itself durable; best effort, as not every platform opens directories.
        if let Ok(handle) = tokio::fs::File::open(&dir).await {
            let _ = handle.sync_all().await;
        }
        Ok(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        let (_, path) = self.path_of(key)?;
        read_verified(&path, key).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreFailure> {
        let (_, path) = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_failure("delete", &path, e)),
        }
    }
}

async fn read_verified(path: &Path, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
    match tokio::fs::read(path).await {
        Ok(bytes) => verified(key, bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_failure("read", path, e)),
    }
}

async fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await?;
    file.write_all(bytes).await?;
    file.flush().await?;
    file.sync_all().await
}

fn io_failure(action: &str, path: &Path, e: std::io::Error) -> StoreFailure {
    StoreFailure::Io(format!("{action} {}: {e}", path.display()))
}

/// Requests to one S3 bucket give up after this long.
#[cfg(feature = "s3")]
const S3_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// An S3-compatible bucket (AWS, MinIO, Ceph, R2…), addressed path-style (`endpoint/bucket/key`,
/// what most self-hosted servers want) or virtual-host style (`bucket.host/key`).
#[cfg(feature = "s3")]
#[derive(Clone)]
pub struct S3Bucket {
    /// The endpoint with the bucket in its path (path style) or its host (virtual-host style):
    /// object keys are appended to it. One URL only: two would make `ObjectStore` needlessly big.
    bucket_url: Url,
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
    path_style: bool,
    client: reqwest::Client,
}

#[cfg(feature = "s3")]
impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("bucket_url", &self.bucket_url.as_str())
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "s3")]
impl S3Bucket {
    /// Checks the configuration; the error says which setting is wrong.
    pub fn new(
        endpoint: Url,
        bucket: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
        path_style: bool,
    ) -> Result<Self, String> {
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err("the S3 endpoint must be an absolute http(s) URL".into());
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err("the S3 endpoint must not carry credentials; set the access and secret keys instead".into());
        }
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err("the S3 endpoint must not have a query or fragment".into());
        }
        let name_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.'))
            && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
            && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !name_ok {
            return Err(format!("'{bucket}' is not a valid bucket name"));
        }
        let region = region.trim();
        if region.is_empty() || access_key.is_empty() || secret_key.is_empty() {
            return Err("the S3 region, access key and secret key are all required".into());
        }
        let base = endpoint.path().trim_end_matches('/').to_string();
        let mut bucket_url = endpoint.clone();
        if path_style {
            bucket_url.set_path(&format!("{base}/{bucket}"));
        } else {
            let Some(domain) = endpoint.domain() else {
                return Err("virtual-host style needs a DNS name in the S3 endpoint; use path style".into());
            };
            bucket_url.set_host(Some(&format!("{bucket}.{domain}"))).map_err(|e| format!("S3 bucket host: {e}"))?;
            bucket_url.set_path(&base);
        }
        let client = reqwest::Client::builder()
            .timeout(S3_REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("S3 HTTP client: {e}"))?;
        Ok(S3Bucket {
            bucket_url,
            bucket: bucket.to_string(),
            region: region.to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            path_style,
            client,
        })
    }

    fn object_url(&self, key: &str) -> Url {
        let mut url = self.bucket_url.clone();
        url.set_path(&format!("{}/{key}", self.bucket_url.path().trim_end_matches('/')));
        url
    }

    async fn send(
        &self,
        method: reqwest::Method,
        key: &str,
        body: Option<&[u8]>,
        payload_hash: &str,
    ) -> Result<reqwest::Response, StoreFailure> {
        let url = self.object_url(key);
        let amz_date = sigv4::amz_date(jiff::Timestamp::now());
        let authorization = sigv4::sign_v4(
            method.as_str(),
            &url,
            &[],
            payload_hash,
            &self.region,
            "s3",
            &self.access_key,
            &self.secret_key,
            &amz_date,
        );
        let mut request = self
            .client
            .request(method.clone(), url)
            .header("x-amz-date", amz_date.as_str())
            .header("x-amz-content-sha256", payload_hash)
            .header(reqwest::header::AUTHORIZATION, authorization);
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        request.send().await.map_err(|e| StoreFailure::Remote(format!("s3 {method} {key}: {e}")))
    }

    async fn put(&self, bytes: &[u8]) -> Result<String, StoreFailure> {
        let key = content_key(bytes);
        // The same content is already there: skip the upload.
        let head = self.send(reqwest::Method::HEAD, &key, None, sigv4::EMPTY_SHA256).await?;
        if head.status().is_success() {
            return Ok(key);
        }
        // The key is the SHA-256 of the body, which is exactly the signed payload hash.
        let response = self.send(reqwest::Method::PUT, &key, Some(bytes), &key).await?;
        if response.status().is_success() { Ok(key) } else { Err(s3_failure("PUT", &key, response).await) }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        let response = self.send(reqwest::Method::GET, key, None, sigv4::EMPTY_SHA256).await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(s3_failure("GET", key, response).await);
        }
        let bytes = response.bytes().await.map_err(|e| StoreFailure::Remote(format!("s3 GET {key}: {e}")))?;
        verified(key, bytes.to_vec()).map(Some)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreFailure> {
        let response = self.send(reqwest::Method::DELETE, key, None, sigv4::EMPTY_SHA256).await?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(s3_failure("DELETE", key, response).await)
        }
    }
}

#[cfg(feature = "s3")]
async fn s3_failure(method: &str, key: &str, response: reqwest::Response) -> StoreFailure {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let code = s3_error_code(&body).unwrap_or("no error code");
    StoreFailure::Remote(format!("s3 {method} {key}: HTTP {status} ({code})"))
}

/// The `<Code>` of an S3 error document (`NoSuchBucket`, `SignatureDoesNotMatch`, …).
#[cfg(feature = "s3")]
fn s3_error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let rest = body.get(start..)?;
    rest.get(..rest.find("</Code>")?)
}

/// AWS Signature Version 4 (header form, signed payload). Pure and built without the `s3`
/// feature too, so it is always tested against the examples AWS publishes.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
mod sigv4 {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    use url::Url;

    /// SHA-256 of an empty body: the payload hash of GET, HEAD and DELETE.
    pub(super) const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// The `x-amz-date` form of a time: `20130524T000000Z`.
    pub(super) fn amz_date(now: jiff::Timestamp) -> String {
        now.strftime("%Y%m%dT%H%M%SZ").to_string()
    }

    /// The `Authorization` header for a request. `host`, `x-amz-content-sha256` (= `payload_hash`)
    /// and `x-amz-date` (= `amz_date`) are always signed and must be sent with those values;
    /// `headers` are the other headers to sign, sent as given.
    // The arguments are the inputs AWS names; grouping them would only hide one from the test.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sign_v4(
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        payload_hash: &str,
        region: &str,
        service: &str,
        access_key: &str,
        secret_key: &str,
        amz_date: &str,
    ) -> String {
        let (canonical, signed_headers) = canonical_request(method, url, headers, payload_hash, amz_date);
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{region}/{service}/aws4_request");
        let string_to_sign =
            format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let mut key = hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
        for part in [region, service, "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
        format!("AWS4-HMAC-SHA256 Credential={access_key}/{scope},SignedHeaders={signed_headers},Signature={signature}")
    }

    /// The canonical request and its signed-header list.
    pub(super) fn canonical_request(
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        payload_hash: &str,
        amz_date: &str,
    ) -> (String, String) {
        let host = url.host_str().unwrap_or_default();
        // `Url::port` is None for the scheme's default port, which clients leave out of `Host`.
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect();
        all.push(("host".into(), host));
        all.push(("x-amz-content-sha256".into(), payload_hash.into()));
        all.push(("x-amz-date".into(), amz_date.into()));
        all.sort();
        let canonical_headers: String = all.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
        let signed_headers = all.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
        let request = format!(
            "{method}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
            canonical_uri(url),
            canonical_query(url)
        );
        (request, signed_headers)
    }

    /// Each path segment encoded once, the S3 way (S3 does not double-encode).
    fn canonical_uri(url: &Url) -> String {
        let path = url.path();
        if path.is_empty() {
            return "/".into();
        }
        path.split('/').map(|segment| uri_encode(&percent_decode(segment))).collect::<Vec<_>>().join("/")
    }

    fn canonical_query(url: &Url) -> String {
        let mut pairs: Vec<(String, String)> = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (uri_encode(&percent_decode(name)), uri_encode(&percent_decode(value)))
            })
            .collect();
        pairs.sort();
        pairs.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("&")
    }

    /// Every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`, upper case.
    fn uri_encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len());
        for &b in bytes {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    fn percent_decode(s: &str) -> Vec<u8> {
        let hex_digit = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'%'
                && let (Some(high), Some(low)) = (hex_digit(bytes.get(i + 1)), hex_digit(bytes.get(i + 2)))
            {
                // Two hex digits make at most 255.
                out.push((high * 16 + low) as u8);
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        out
    }

    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// A fresh directory path under the system temp dir; not created.
    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("thaw-objects-{name}-{}-{}", std::process::id(), random_hex(4)))
    }

    // ---- sniffing ----

    #[test]
    fn each_accepted_kind_is_recognised_from_its_first_bytes() {
        let cases: [(&[u8], Kind); 9] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Kind::Png),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'], Kind::Jpeg),
            (b"GIF87a\x01\0\x01\0", Kind::Gif),
            (b"GIF89a\x01\0\x01\0", Kind::Gif),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Kind::Webp),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", Kind::Pdf),
            (b"My account was frozen after I changed phones.\r\n\tTx: 0xabc\x0c", Kind::Text),
            ("您好，我的账户被冻结了，附上转账记录。\n".as_bytes(), Kind::Text),
            (b"I sent 5 < 6 coins, see <attached>", Kind::Text),
        ];
        for (bytes, kind) in cases {
            assert_eq!(sniff(bytes), Some(kind), "{bytes:?}");
        }
    }

    #[test]
    fn archives_executables_and_binary_are_refused() {
        let cases: [&[u8]; 7] = [
            b"PK\x03\x04",
            b"PK\x03\x04\x14\0\0\0\x08\0",
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff",
            b"hello\0world",
            b"RIFF\x24\0\0\0WAVEfmt ",
            b"colour \x1b[31mred",
            b"",
        ];
        for bytes in cases {
            assert_eq!(sniff(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn markup_is_refused_even_though_it_is_text() {
        let cases = [
            "<html><body>hi</body></html>",
            "\n   <!DOCTYPE html><html>",
            "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "<?xml version=\"1.0\"?><svg/>",
            "\u{feff}<script>alert(1)</script>",
        ];
        for text in cases {
            assert_eq!(sniff(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn text_cut_inside_a_character_at_64_kib_is_still_text() {
        let long = "账户冻结".repeat(6000);
        assert!(long.len() > TEXT_SNIFF_BYTES);
        assert!(!long.is_char_boundary(TEXT_SNIFF_BYTES), "the test must cut a character");
        assert_eq!(sniff(long.as_bytes()), Some(Kind::Text));
    }

    #[test]
    fn text_ending_inside_a_character_is_not_text() {
        let mut bytes = "账户".as_bytes().to_vec();
        bytes.pop();
        assert_eq!(sniff(&bytes), None);
    }

    #[test]
    fn kinds_have_stable_codes_types_and_extensions() {
        assert_eq!(Kind::Jpeg.code(), "jpeg");
        assert_eq!(Kind::Jpeg.extension(), "jpg");
        assert_eq!(Kind::Jpeg.mime(), "image/jpeg");
        assert_eq!(Kind::Text.mime(), "text/plain; charset=utf-8");
        assert_eq!(Kind::Pdf.mime(), "application/pdf");
        assert!(Kind::Webp.is_image());
        assert!(!Kind::Pdf.is_image());
        assert!(!Kind::Text.is_image());
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(Kind::from_code("html"), None);
    }

    // ---- limits ----

    #[test]
    fn default_limits_are_ten_mib_and_five_files() {
        assert_eq!(Limits::default(), Limits { max_bytes: 10_485_760, max_files_per_message: 5 });
    }

    #[test]
    fn a_file_one_byte_over_the_limit_is_refused_as_too_large() {
        let limits = Limits { max_bytes: 16, max_files_per_message: 5 };
        let at_limit = b"%PDF-1.4 1234567";
        assert_eq!(at_limit.len(), 16);
        assert_eq!(check(at_limit, "application/pdf", &limits), Ok(Kind::Pdf));
        let over = b"%PDF-1.4 12345678";
        let refused = check(over, "application/pdf", &limits).expect_err("over the limit");
        assert_eq!(refused, Refused::TooLarge { size: 17, max: 16 });
        assert_eq!(refused.code(), "too_large");
        assert_eq!(refused.to_string(), "the file is 17 bytes; a file may be at most 16 bytes");
    }

    #[test]
    fn an_oversized_file_is_refused_for_its_size_whatever_its_type() {
        let limits = Limits { max_bytes: 4, max_files_per_message: 5 };
        assert_eq!(
            check(b"MZ\x90\0\x03", "application/x-msdownload", &limits),
            Err(Refused::TooLarge { size: 5, max: 4 })
        );
    }

    #[test]
    fn an_empty_file_is_refused() {
        let refused = check(b"", "image/png", &Limits::default()).expect_err("empty");
        assert_eq!(refused, Refused::Empty);
        assert_eq!(refused.code(), "empty");
    }

    #[test]
    fn a_refused_type_names_what_the_sender_declared() {
        let refused = check(b"PK\x03\x04\x14\0\0\0", " application/zip ", &Limits::default()).expect_err("zip");
        assert_eq!(refused, Refused::Type { declared: "application/zip".into() });
        assert_eq!(refused.code(), "refused_type");
        let html = check(b"<html>", "", &Limits::default()).expect_err("html");
        assert_eq!(html, Refused::Type { declared: "unknown".into() });
    }

    #[test]
    fn the_kind_comes_from_the_bytes_not_the_declared_type() {
        assert_eq!(check(b"%PDF-1.7\n", "image/png", &Limits::default()), Ok(Kind::Pdf));
    }

    #[test]
    fn more_files_than_allowed_are_refused() {
        let limits = Limits::default();
        assert_eq!(check_count(5, &limits), Ok(()));
        let refused = check_count(6, &limits).expect_err("six files");
        assert_eq!(refused, Refused::TooMany { count: 6, max: 5 });
        assert_eq!(refused.code(), "too_many");
    }

    // ---- keys ----

    #[test]
    fn the_key_is_the_lowercase_hex_sha256_of_the_content() {
        assert_eq!(content_key(b"abc"), ABC_SHA256);
        assert_eq!(content_key(b""), sigv4::EMPTY_SHA256);
        assert!(is_content_key(ABC_SHA256));
        assert!(!is_content_key(&ABC_SHA256.to_uppercase()));
        assert!(!is_content_key(&ABC_SHA256[..63]));
        assert!(!is_content_key("../etc/passwd"));
    }

    // ---- local directory ----

    #[tokio::test]
    async fn a_stored_file_comes_back_byte_for_byte_from_its_hash_path() {
        let root = scratch("roundtrip");
        let store = ObjectStore::local(root.clone());
        let key = store.put(b"abc").await.expect("put");
        assert_eq!(key, ABC_SHA256);
        assert_eq!(store.get(&key).await, Ok(Some(b"abc".to_vec())));
        let on_disk = std::fs::read(root.join("ba").join("78").join(ABC_SHA256)).expect("file at root/ab/cd/hash");
        assert_eq!(on_disk, b"abc");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn storing_the_same_content_twice_keeps_one_file() {
        let root = scratch("twice");
        let store = ObjectStore::local(root.clone());
        let first = store.put(b"same screenshot").await.expect("first put");
        let second = store.put(b"same screenshot").await.expect("second put");
        assert_eq!(first, second);
        let dir = root.join(&first[..2]).join(&first[2..4]);
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("object directory")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![first], "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_missing_object_is_none() {
        let root = scratch("missing");
        let store = ObjectStore::local(root.clone());
        assert_eq!(store.get(ABC_SHA256).await, Ok(None));
        store.put(b"something else").await.expect("put");
        assert_eq!(store.get(ABC_SHA256).await, Ok(None));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_deleted_object_is_gone_and_deleting_again_succeeds() {
        let root = scratch("delete");
        let store = ObjectStore::local(root.clone());
        let key = store.put(b"to be erased").await.expect("put");
        assert_eq!(store.delete(&key).await, Ok(()));
        assert_eq!(store.get(&key).await, Ok(None));
        assert!(!root.join(&key[..2]).join(&key[2..4]).join(&key).exists());
        assert_eq!(store.delete(&key).await, Ok(()));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn a_file_changed_on_disk_is_reported_corrupt_and_a_new_put_repairs_it() {
        let root = scratch("corrupt");
        let store = ObjectStore::local(root.clone());
        let key = store.put(b"original evidence").await.expect("put");
        std::fs::write(root.join(&key[..2]).join(&key[2..4]).join(&key), b"tampered").expect("overwrite");
        let failure = store.get(&key).await.expect_err("corrupt");
        assert_eq!(failure, StoreFailure::Corrupt(key.clone()));
        assert_eq!(failure.code(), "corrupt_object");
        assert_eq!(store.put(b"original evidence").await, Ok(key.clone()));
        assert_eq!(store.get(&key).await, Ok(Some(b"original evidence".to_vec())));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn keys_that_are_not_content_hashes_are_refused_without_touching_the_disk() {
        // The root does not exist, and sits under a regular file: any filesystem access would
        // fail with an I/O error (not BadKey), and nothing may be created.
        let parent = scratch("badkey");
        std::fs::write(&parent, b"not a directory").expect("blocker file");
        let root = parent.join("store");
        let store = ObjectStore::local(root.clone());
        let upper = ABC_SHA256.to_uppercase();
        let with_slash = format!("ba/{}", &ABC_SHA256[3..]);
        for bad in ["../etc/passwd", upper.as_str(), "ba7816bf", "", with_slash.as_str()] {
            assert_eq!(store.get(bad).await, Err(StoreFailure::BadKey(bad.to_string())), "get {bad}");
            assert_eq!(store.delete(bad).await, Err(StoreFailure::BadKey(bad.to_string())), "delete {bad}");
        }
        assert_eq!(with_slash.len(), 64);
        assert!(!root.exists());
        assert_eq!(
            store.get(ABC_SHA256).await.map_err(|e| e.code()),
            Err("storage_io"),
            "a good key does reach the disk"
        );
        let _ = std::fs::remove_file(&parent);
    }

    #[test]
    fn a_local_store_describes_its_directory() {
        let store = ObjectStore::local("/var/lib/thaw/objects");
        assert_eq!(store.describe(), "local directory /var/lib/thaw/objects");
    }

    // ---- signature version 4 ----

    const AWS_ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const AWS_DATE: &str = "20130524T000000Z";

    fn aws_example(method: &str, url: &str, headers: &[(&str, &str)], payload_hash: &str) -> String {
        let url = url::Url::parse(url).expect("example URL");
        sigv4::sign_v4(method, &url, headers, payload_hash, "us-east-1", "s3", AWS_ACCESS_KEY, AWS_SECRET_KEY, AWS_DATE)
    }

    // Expected values: Amazon S3 API reference, "Signature Calculations for the Authorization
    // Header: Transferring Payload in a Single Chunk (AWS Signature Version 4)", Examples.
    #[test]
    fn signing_reproduces_the_aws_get_object_example() {
        let url = url::Url::parse("https://examplebucket.s3.amazonaws.com/test.txt").expect("url");
        let (canonical, _) =
            sigv4::canonical_request("GET", &url, &[("Range", "bytes=0-9")], sigv4::EMPTY_SHA256, AWS_DATE);
        // The last line of the documented StringToSign: tells a wrong canonical request apart
        // from a wrong key derivation.
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
        );
        assert_eq!(
            aws_example("GET", url.as_str(), &[("Range", "bytes=0-9")], sigv4::EMPTY_SHA256),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn signing_reproduces_the_aws_put_object_example() {
        let payload_hash = content_key(b"Welcome to Amazon S3.");
        assert_eq!(payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
        let headers = [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")];
        assert_eq!(
            aws_example("PUT", "https://examplebucket.s3.amazonaws.com/test$file.text", &headers, &payload_hash),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
             Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    #[test]
    fn signing_reproduces_the_aws_bucket_query_examples() {
        let lifecycle =
            aws_example("GET", "https://examplebucket.s3.amazonaws.com/?lifecycle", &[], sigv4::EMPTY_SHA256);
        assert!(lifecycle.ends_with("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"));
        // Given out of order: the canonical query sorts the parameters.
        let list =
            aws_example("GET", "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2", &[], sigv4::EMPTY_SHA256);
        assert!(list.ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    }

    #[test]
    fn the_signed_host_keeps_a_custom_port_and_drops_the_default_one() {
        let minio = url::Url::parse("http://minio:9000/thaw-evidence/abc").expect("url");
        let (canonical, _) = sigv4::canonical_request("GET", &minio, &[], sigv4::EMPTY_SHA256, AWS_DATE);
        assert!(canonical.contains("\nhost:minio:9000\n"), "{canonical}");
        let aws = url::Url::parse("https://s3.example.com:443/thaw-evidence/abc").expect("url");
        let (canonical, _) = sigv4::canonical_request("GET", &aws, &[], sigv4::EMPTY_SHA256, AWS_DATE);
        assert!(canonical.contains("\nhost:s3.example.com\n"), "{canonical}");
    }

    #[test]
    fn the_signature_changes_with_the_secret_and_the_region() {
        let url = url::Url::parse("http://minio:9000/thaw-evidence/abc").expect("url");
        let sign = |region: &str, secret: &str| {
            sigv4::sign_v4("GET", &url, &[], sigv4::EMPTY_SHA256, region, "s3", "AK", secret, AWS_DATE)
        };
        assert_eq!(sign("us-east-1", "secret-one"), sign("us-east-1", "secret-one"));
        assert_ne!(sign("us-east-1", "secret-one"), sign("us-east-1", "secret-two"));
        assert_ne!(sign("us-east-1", "secret-one"), sign("eu-west-1", "secret-one"));
        assert!(!sign("us-east-1", "secret-one").contains("secret"), "the secret never appears in the header");
    }

    #[test]
    fn amz_dates_are_utc_in_the_basic_format() {
        let t = jiff::Timestamp::from_second(1_369_353_600).expect("2013-05-24T00:00:00Z");
        assert_eq!(sigv4::amz_date(t), "20130524T000000Z");
    }

    #[cfg(feature = "s3")]
    mod s3 {
        use super::super::*;

        fn bucket(endpoint: &str, path_style: bool) -> S3Bucket {
            S3Bucket::new(
                Url::parse(endpoint).expect("url"),
                "thaw-evidence",
                "us-east-1",
                "AK",
                "top-secret",
                path_style,
            )
            .expect("valid configuration")
        }

        #[test]
        fn path_style_puts_the_bucket_in_the_path() {
            let b = bucket("http://minio:9000", true);
            assert_eq!(b.object_url("ab12").as_str(), "http://minio:9000/thaw-evidence/ab12");
            assert_eq!(ObjectStore::S3(b).describe(), "s3 http://minio:9000/thaw-evidence");
        }

        #[test]
        fn virtual_host_style_puts_the_bucket_in_the_host() {
            let b = bucket("https://s3.eu-west-1.amazonaws.com", false);
            assert_eq!(b.object_url("ab12").as_str(), "https://thaw-evidence.s3.eu-west-1.amazonaws.com/ab12");
            assert_eq!(ObjectStore::S3(b).describe(), "s3 https://thaw-evidence.s3.eu-west-1.amazonaws.com");
        }

        #[test]
        fn debug_output_hides_the_secret_key() {
            let shown = format!("{:?}", bucket("http://minio:9000", true));
            assert!(!shown.contains("top-secret"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }

        #[test]
        fn bad_configurations_are_refused() {
            let url = |s: &str| Url::parse(s).expect("url");
            assert!(S3Bucket::new(url("http://user:pw@minio:9000"), "thaw", "us-east-1", "AK", "SK", true).is_err());
            assert!(S3Bucket::new(url("http://minio:9000"), "Thaw_Evidence", "us-east-1", "AK", "SK", true).is_err());
            assert!(S3Bucket::new(url("http://10.0.0.5:9000"), "thaw", "us-east-1", "AK", "SK", false).is_err());
            assert!(S3Bucket::new(url("http://minio:9000"), "thaw", "us-east-1", "AK", "", true).is_err());
        }

        #[test]
        fn s3_error_codes_are_read_from_the_error_document() {
            let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>";
            assert_eq!(s3_error_code(body), Some("SignatureDoesNotMatch"));
            assert_eq!(s3_error_code("gateway timeout"), None);
        }
    }
}
