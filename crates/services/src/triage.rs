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
