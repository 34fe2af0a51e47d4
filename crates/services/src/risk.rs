//! The risk engine of a running process: the policy in force (the shipped default or the
//! operator's file), reloadable without dropping requests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use thaw_engines::risk::{Engine, Policy, PolicyError};

pub struct RiskRuntime {
    engine: RwLock<Arc<Engine>>,
    policy_file: Option<PathBuf>,
    /// Places for events that do not say where they happened.
    pub geo: Option<crate::geo::GeoDb>,
    /// Where holders pass challenges: `<public_url>/security/challenge/<decision id>`.
    pub public_url: String,
}

/// Reads and checks a policy file; list files it names are read relative to its folder.
pub fn load_policy_file(path: &Path) -> Result<Policy, Vec<PolicyError>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![PolicyError { line: 0, message: format!("cannot read {}: {e}", path.display()) }])?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Policy::parse(&src, &|name| std::fs::read_to_string(dir.join(name)).map_err(|e| e.to_string()))
}

impl RiskRuntime {
    /// The policy of `policy_file`, or the shipped default without one.
    pub fn load(policy_file: Option<&Path>, public_url: &str) -> Result<RiskRuntime, Vec<PolicyError>> {
        let policy = match policy_file {
            Some(p) => load_policy_file(p)?,
            None => Policy::default_policy(),
        };
        Ok(RiskRuntime {
            engine: RwLock::new(Arc::new(Engine::new(policy))),
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
        self.engine.read().expect("policy lock").clone()
    }

    /// Reloads the policy file. An invalid file changes nothing and returns its errors.
    pub fn reload(&self) -> Result<usize, Vec<PolicyError>> {
        let policy = match &self.policy_file {
            Some(p) => load_policy_file(p)?,
            None => Policy::default_policy(),
        };
        let rules = policy.rules.len();
        *self.engine.write().expect("policy lock") = Arc::new(Engine::new(policy));
        tracing::info!(rules, file = ?self.policy_file, "risk policy reloaded");
        Ok(rules)
    }

    pub fn policy_file(&self) -> Option<&Path> {
        self.policy_file.as_deref()
    }
}
