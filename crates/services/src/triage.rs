//! The triage model of this process: which case category a message is about. The model is the
//! newest one `thaw triage train` saved in the database, or else one trained on first use from
//! the labelled messages thaw ships plus agents' corrections of case categories.

use crate::{ServiceError, new_id};
use base64::Engine;
use std::sync::{Arc, RwLock};
use thaw_store::{Capabilities, Db};
use thaw_text::triage::{Example, Model, Prediction, TrainOptions, read_csv};

/// The labelled zh-CN/en support messages the default model learns from.
pub const SHIPPED_CSV: &str = include_str!("../../../data/triage/messages.csv");

/// The shipped examples.
pub fn shipped_examples() -> Vec<Example> {
    read_csv(SHIPPED_CSV.as_bytes(), "text", "category").unwrap_or_default()
}

#[derive(Default)]
pub struct Triage {
    model: RwLock<Option<Arc<Model>>>,
}

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("triage: {e}"))
}

impl Triage {
    pub fn new() -> Triage {
        Triage::default()
    }

    /// The model in use (loaded or trained on first use).
    pub async fn model(&self, db: &Db) -> Result<Arc<Model>, ServiceError> {
        if let Some(m) = self.model.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(m);
        }
        let saved = {
            let mut conn = db.conn().await?;
            conn.texts().latest_model().await?
        };
        let model = match saved {
            Some((_, b64)) => {
                let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(internal)?;
                Model::from_bytes(&bytes).map_err(internal)?
            }
            None => {
                let examples = training_set(db).await?;
                tokio::task::spawn_blocking(move || Model::train(&examples, &TrainOptions::default()))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?
            }
        };
        let model = Arc::new(model);
        *self.model.write().unwrap_or_else(|e| e.into_inner()) = Some(model.clone());
        Ok(model)
    }

    /// The category `text` is most likely about.
    pub async fn classify(&self, db: &Db, text: &str) -> Result<Prediction, ServiceError> {
        let model = self.model(db).await?;
        Ok(model.predict(text))
    }
}

/// The shipped examples plus every correction staff made.
pub async fn training_set(db: &Db) -> Result<Vec<Example>, ServiceError> {
    let mut examples = shipped_examples();
    let mut conn = db.conn().await?;
    for (text, label) in conn.texts().corrections().await? {
        examples.push(Example { text, label });
    }
    Ok(examples)
}

/// Trains on the shipped set plus corrections and saves the model for every process (each
/// loads it when it next starts). Returns the model and how many examples it learnt from.
pub async fn train_and_save(db: &Db, now_ms: i64) -> Result<(Model, usize), ServiceError> {
    let examples = training_set(db).await?;
    let n = examples.len();
    let model = tokio::task::spawn_blocking(move || Model::train(&examples, &TrainOptions::default()))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(model.to_bytes());
    let mut conn = db.conn().await?;
    conn.texts().save_model(&new_id(), n as i64, &b64, now_ms).await?;
    Ok((model, n))
}

/// Staff correct a case's category: the case moves to it (routing stays until someone routes
/// again) and the correction is kept — the subject and the opening message with the right
/// category — for `thaw triage train`.
pub async fn correct_category(
    db: &Db,
    desk: &crate::cases::Desk,
    by: &crate::cases::CaseActor,
    case_id: &str,
    category: &str,
    now_ms: i64,
) -> Result<thaw_domain::case::Case, ServiceError> {
    use thaw_domain::CaseCategory;
    let crate::cases::CaseActor::Staff { role, .. } = by else {
        return Err(ServiceError::Refused { code: "forbidden", message: "only staff correct categories".into() });
    };
    if !crate::cases::may_work_cases(*role) {
        return Err(ServiceError::Refused { code: "forbidden", message: "your role does not work cases".into() });
    }
    let to = CaseCategory::parse(category).ok_or_else(|| {
        let all: Vec<_> = CaseCategory::ALL.iter().map(|c| c.code()).collect();
        thaw_domain::Invalid::new("category", "invalid_category", format!("category: one of {}", all.join(", ")))
    })?;
    let actor = by.label();
    let (case, ()) = crate::cases::change_case(db, desk, case_id, |conn, c| {
        let actor = actor.clone();
        Box::pin(async move {
            let from = c.category;
            if from == to {
                return Ok(());
            }
            // The opening message: what the holder (or the platform for them) first wrote.
            let first = conn.cases().messages(&c.id, false).await?.into_iter().next();
            let text = format!("{}\n{}", c.subject, first.map(|m| m.body).unwrap_or_default());
            conn.texts().save_correction(&c.id, text.trim(), Some(from.code()), to.code(), &actor, now_ms).await?;
            c.category = to;
            c.updated_at_ms = now_ms;
            let data = serde_json::json!({"from": from.code(), "to": to.code()});
            conn.cases().add_timeline(&crate::cases::entry(&c.id, &actor, "category", data, false, now_ms)).await?;
            Ok(())
        })
    })
    .await?;
    Ok(case)
}
