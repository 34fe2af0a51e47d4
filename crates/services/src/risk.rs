//! The risk engine of a running process: the policy in force (the shipped default or the
//! operator's file), reloadable without dropping requests.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use thaw_engines::risk::{Engine, Policy, PolicyError};
use thaw_store::{Capabilities, Db};

pub struct RiskRuntime {
    /// The engine in force and the SHA-256 of the policy text it was built from.
    engine: RwLock<(Arc<Engine>, String)>,
    policy_file: Option<PathBuf>,
    /// Places for events that do not say where they happened.
    pub geo: Option<crate::geo::GeoDb>,
    /// Where holders pass challenges: `<public_url>/security/challenge/<decision id>`.
    pub public_url: String,
}

/// Reads and checks a policy file; list files it names are read relative to its folder.
pub fn load_policy_file(path: &Path) -> Result<Policy, Vec<PolicyError>> {
    read_policy(Some(path)).map(|(p, _)| p)
}

/// The policy of the file (or the shipped default) and the SHA-256 of its text.
fn read_policy(path: Option<&Path>) -> Result<(Policy, String), Vec<PolicyError>> {
    let Some(path) = path else {
        let src = thaw_engines::risk::policy::DEFAULT_POLICY;
        return Ok((Policy::default_policy(), hex::encode(Sha256::digest(src.as_bytes()))));
    };
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![PolicyError { line: 0, message: format!("cannot read {}: {e}", path.display()) }])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let policy = Policy::parse(&src, &|name| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string()))?;
    Ok((policy, hex::encode(Sha256::digest(src.as_bytes()))))
}

impl RiskRuntime {
    /// The policy of `policy_file`, or the shipped default without one.
    pub fn load(policy_file: Option<&Path>, public_url: &str) -> Result<RiskRuntime, Vec<PolicyError>> {
        let (policy, fingerprint) = read_policy(policy_file)?;
        Ok(RiskRuntime {
            engine: RwLock::new((Arc::new(Engine::new(policy)), fingerprint)),
            policy_file: policy_file.map(Path::to_path_buf),
            geo: None,
            public_url: public_url.trim_end_matches('/').to_string(),
        })
    }

    /// Looks places up in `geo` for events without one.
    pub fn with_geo(mut self, geo: crate::geo::GeoDb) -> RiskRuntime {
        self.geo = Some(geo);
        self
    }

    /// Fills in the place of an event that has an IP but no place, from the city database.
    /// Returns the attribution to show when it did.
    pub fn locate(&self, event: &mut thaw_domain::risk::Event) -> Option<&str> {
        let db = self.geo.as_ref()?;
        if event.geo.is_some() {
            return None;
        }
        event.geo = Some(db.lookup(event.ip?)?);
        Some(&db.attribution)
    }

    /// The engine in force; evaluations in flight keep the one they started with.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.read().expect("policy lock").0.clone()
    }

    /// The SHA-256 of the policy text in force.
    pub fn fingerprint(&self) -> String {
        self.engine.read().expect("policy lock").1.clone()
    }

    /// Reloads the policy file. An invalid file changes nothing and returns its errors.
    pub fn reload(&self) -> Result<usize, Vec<PolicyError>> {
        let (policy, fingerprint) = read_policy(self.policy_file.as_deref())?;
        let rules = policy.rules.len();
        *self.engine.write().expect("policy lock") = (Arc::new(Engine::new(policy)), fingerprint);
        tracing::info!(rules, file = ?self.policy_file, "risk policy reloaded");
        Ok(rules)
    }

    /// [`RiskRuntime::reload`], recorded in the audit log: the fingerprints and rule counts
    /// before and after, or the refusal with its errors (the policy in force stays).
    pub async fn reload_audited(&self, db: &Db) -> Result<Result<usize, Vec<PolicyError>>, crate::ServiceError> {
        let before = serde_json::json!({ "sha256": self.fingerprint(), "rules": self.engine().policy.rules.len() });
        let outcome = self.reload();
        let (action, after) = match &outcome {
            Ok(rules) => ("policy.reloaded", serde_json::json!({ "sha256": self.fingerprint(), "rules": rules })),
            Err(errors) => (
                "policy.reload_refused",
                serde_json::json!({ "errors": errors.iter().map(|e| e.to_string()).collect::<Vec<_>>() }),
            ),
        };
        let source = self.policy_file.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "default".into());
        let mut tx = db.begin_write().await?;
        tx.audit()
            .append(thaw_store::audit::Change {
                action,
                subject_type: "policy",
                subject_id: &source,
                before: Some(before),
                after: Some(after),
                at_ms: crate::now_ms(),
                actor: None,
            })
            .await?;
        tx.commit().await.map_err(thaw_store::StoreError::from)?;
        Ok(outcome)
    }

    pub fn policy_file(&self) -> Option<&Path> {
        self.policy_file.as_deref()
    }

    /// The policy text as it is now on disk (the shipped default without a file) and its
    /// SHA-256, to compare with [`RiskRuntime::fingerprint`]: a difference means the file changed
    /// since it was loaded.
    pub fn text_on_disk(&self) -> Result<(String, String), String> {
        let text = match &self.policy_file {
            None => thaw_engines::risk::policy::DEFAULT_POLICY.to_string(),
            Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        };
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        Ok((text, sha))
    }

    /// Checks a policy text without applying it; list files it names are read from the policy
    /// file's folder. Returns the number of operators' rules.
    pub fn check_text(&self, src: &str) -> Result<usize, Vec<PolicyError>> {
        let dir = self.policy_file.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
        Policy::parse(src, &|name| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string()))
            .map(|p| p.rules.len())
    }
}
