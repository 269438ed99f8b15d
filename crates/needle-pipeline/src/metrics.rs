//! What the pipeline reports to `/metrics`: messages by outcome, time per stage, and how
//! many batches wait in front of each stage.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{Batch, Outcome};

type StageLabel = Vec<(String, String)>;

fn stage_label(stage: &str) -> StageLabel {
    vec![("stage".to_string(), stage.to_string())]
}

/// The pipeline's metrics, registered in a registry the server renders.
pub struct PipelineMetrics {
    pub ingested: Counter,
    pub duplicates: Counter,
    pub rejected: Counter,
    pub failed: Counter,
    /// Messages whose sentiment came from the model tier (the cascade sent them there).
    pub model_tier: Counter,
    stage_seconds: Family<StageLabel, Histogram>,
    stage_messages: Family<StageLabel, Counter>,
    queue_depth: Family<StageLabel, Gauge>,
}

impl PipelineMetrics {
    /// Metrics not registered anywhere (commands that print their own summary).
    pub fn unregistered() -> PipelineMetrics {
        PipelineMetrics {
            ingested: Counter::default(),
            duplicates: Counter::default(),
            rejected: Counter::default(),
            failed: Counter::default(),
            model_tier: Counter::default(),
            stage_seconds: Family::new_with_constructor(new_histogram),
            stage_messages: Family::default(),
            queue_depth: Family::default(),
        }
    }

    /// Creates the metrics and registers them under `needle_`.
    pub fn register(registry: &mut Registry) -> PipelineMetrics {
        let metrics = PipelineMetrics::unregistered();
        registry.register(
            "needle_messages_ingested",
            "Messages stored for the first time",
            metrics.ingested.clone(),
        );
        registry.register(
            "needle_messages_duplicate",
            "Messages that were already stored",
            metrics.duplicates.clone(),
        );
        registry.register(
            "needle_messages_rejected",
            "Messages refused as invalid",
            metrics.rejected.clone(),
        );
        registry.register(
            "needle_messages_failed",
            "Messages a stage could not process (environment failures)",
            metrics.failed.clone(),
        );
        registry.register(
            "needle_messages_model_tier",
            "Messages classified by the model tier as well as the fast tier",
            metrics.model_tier.clone(),
        );
        registry.register(
            "needle_pipeline_stage_seconds",
            "Time a stage spent on one batch",
            metrics.stage_seconds.clone(),
        );
        registry.register(
            "needle_pipeline_stage_messages",
            "Messages that passed through a stage",
            metrics.stage_messages.clone(),
        );
        registry.register(
            "needle_pipeline_queue_depth",
            "Batches waiting in front of a stage",
            metrics.queue_depth.clone(),
        );
        metrics
    }

    pub(crate) fn queued(&self, stage: &str) {
        self.queue_depth.get_or_create(&stage_label(stage)).inc();
    }

    pub(crate) fn dequeued(&self, stage: &str) {
        self.queue_depth.get_or_create(&stage_label(stage)).dec();
    }

    pub(crate) fn observe_stage(&self, stage: &str, took: Duration, messages: usize) {
        let label = stage_label(stage);
        self.stage_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        self.stage_messages
            .get_or_create(&label)
            .inc_by(messages as u64);
    }

    pub(crate) fn count_outcomes(&self, batch: &Batch) {
        for item in &batch.items {
            match item.outcome {
                Outcome::Stored(_) => self.ingested.inc(),
                Outcome::Duplicate(_) => self.duplicates.inc(),
                Outcome::Rejected(_) => self.rejected.inc(),
                Outcome::Failed { .. } | Outcome::Pending => self.failed.inc(),
            };
        }
    }

    /// Batches waiting in front of a stage now.
    pub fn queue_depth(&self, stage: &str) -> i64 {
        self.queue_depth.get_or_create(&stage_label(stage)).get()
    }
}

fn new_histogram() -> Histogram {
    // 50 µs to about 13 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}
