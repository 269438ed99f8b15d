//! Opening a data dir: the store (`needle.db` there, or the `--store` given) and the search
//! index (`index/`), brought into agreement before any command works on them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use needle_bus::Feed;
use needle_listen::{Listening, ModelTierStage, TopicsStage};
use needle_pipeline::{AnnounceStage, Pipeline, PipelineMetrics, Stage};
use needle_profile::ProfileConfig;
use needle_profile::service::ProfileService;
use needle_profile::stage::ProfilesStage;
use needle_search::{IndexError, SearchIndex};
use needle_store::{Backend, Store};

use crate::cli::DataArgs;
use crate::failure::{CliResult, Failure};
use crate::model_tier::Tiers;

pub struct DataDir {
    pub path: PathBuf,
    pub store: Arc<dyn Backend>,
    pub index: Arc<SearchIndex>,
    /// False when another process (a running `needle serve`) holds the index's writer: then
    /// this one only stores, and that process indexes from the store.
    pub index_writable: bool,
    /// This process's profile graphs, shared by the pipeline stage and the API.
    profiles: OnceLock<Arc<ProfileService>>,
}

/// Profile settings for every workspace; `NEEDLE_PHONE_REGION` (`DE`) reads national phone
/// numbers.
pub fn profile_config() -> CliResult<ProfileConfig> {
    let region = std::env::var("NEEDLE_PHONE_REGION")
        .ok()
        .filter(|r| !r.is_empty());
    Ok(ProfileConfig {
        default_region: region,
        ..ProfileConfig::default()
    })
}

fn ensure_dir(path: &Path) -> CliResult<()> {
    if path.exists() && !path.is_dir() {
        return Err(Failure::environment(format!(
            "the data dir {} is a file, not a directory",
            path.display()
        )));
    }
    std::fs::create_dir_all(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                "it cannot be written (read-only or no permission)".to_string()
            }
            std::io::ErrorKind::StorageFull => "the disk is full".to_string(),
            _ => e.to_string(),
        };
        Failure::environment(format!(
            "cannot create the data dir {}: {why}",
            path.display()
        ))
    })
}

/// The store the arguments name: `--store`, or the SQLite file in the data dir.
pub fn open_store(data: &DataArgs) -> CliResult<Arc<dyn Backend>> {
    let default = data.data.join("needle.db");
    let target = match data.store.as_deref() {
        Some(url) if !url.is_empty() => url.to_string(),
        _ => default.to_string_lossy().into_owned(),
    };
    Ok(needle_store::open(&target)?)
}

impl DataDir {
    /// Opens for writing: the store, and the index with its single writer, caught up.
    pub fn open(data: &DataArgs) -> CliResult<DataDir> {
        DataDir::open_writer(data, false)
    }

    /// Opens for adding messages: as [`DataDir::open`], or, when a running server holds the
    /// index, with the store only (the server indexes what this process stores).
    pub fn open_for_import(data: &DataArgs) -> CliResult<DataDir> {
        DataDir::open_writer(data, true)
    }

    /// The store alone (for `needle migrate`): opening it applies its migrations.
    pub fn open_store_only(data: &DataArgs) -> CliResult<Arc<dyn Backend>> {
        if data.store.is_none() {
            ensure_dir(&data.data)?;
        }
        open_store(data)
    }

    fn open_writer(data: &DataArgs, store_only_if_index_busy: bool) -> CliResult<DataDir> {
        let path = data.data.as_path();
        ensure_dir(path)?;
        let store = open_store(data)?;
        let index = match SearchIndex::open(path.join("index")) {
            Ok(index) => Arc::new(index),
            Err(IndexError::Locked(_)) if store_only_if_index_busy => {
                eprintln!(
                    "note: a running needle serve holds the index; it will index these messages"
                );
                return Ok(DataDir {
                    path: path.to_path_buf(),
                    store,
                    index: Arc::new(SearchIndex::open_read_only(path.join("index"))?),
                    index_writable: false,
                    profiles: OnceLock::new(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let added = index.catch_up(store.as_ref())?;
        if added > 0 {
            tracing::info!(
                added,
                "indexed messages the index was missing (after a crash, or written elsewhere)"
            );
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            store,
            index,
            index_writable: true,
            profiles: OnceLock::new(),
        })
    }

    /// Opens for reading only: works beside a running `needle serve`.
    pub fn open_read_only(data: &DataArgs) -> CliResult<DataDir> {
        let path = data.data.as_path();
        if data.store.is_none() && !path.join("needle.db").exists() {
            return Err(Failure::bad_input(format!(
                "no Needle data in {}: import messages first (or pass --data)",
                path.display()
            )));
        }
        let store = open_store(data)?;
        let index = Arc::new(SearchIndex::open_read_only(path.join("index"))?);
        Ok(DataDir {
            path: path.to_path_buf(),
            store,
            index,
            index_writable: false,
            profiles: OnceLock::new(),
        })
    }

    /// The profile service of this process (one graph per workspace, loaded on first use).
    pub fn profiles(&self) -> CliResult<Arc<ProfileService>> {
        if let Some(p) = self.profiles.get() {
            return Ok(p.clone());
        }
        let service = ProfileService::new(self.store.clone(), profile_config()?)
            .map_err(|e| Failure::new(e.code(), e.to_string()))?;
        Ok(self.profiles.get_or_init(|| Arc::new(service)).clone())
    }

    /// The live topics of every workspace.
    pub fn listening(&self) -> CliResult<Arc<Listening>> {
        Listening::load(self.store.clone(), self.index.clone())
            .map_err(|e| Failure::new(e.code(), e.to_string()))
    }

    /// The pipeline every message goes through, topics included; the index stage only when
    /// this process holds the index (`with_index`); message authors resolved into profiles
    /// as each batch is stored when `profiles_inline` (otherwise a [`ProfileFollower`] does
    /// it); stored messages announced on `feed`; the model tier's sentiment, before the
    /// store, for the messages its cascade picks.
    ///
    /// [`ProfileFollower`]: needle_profile::stage::ProfileFollower
    pub fn pipeline(
        &self,
        listening: &Arc<Listening>,
        metrics: Arc<PipelineMetrics>,
        with_index: bool,
        profiles_inline: bool,
        feed: Option<Feed>,
        tiers: Tiers,
    ) -> Pipeline {
        let before_store: Vec<Box<dyn Stage>> = tiers
            .model
            .into_iter()
            .map(|tier| {
                Box::new(ModelTierStage::new(
                    listening.clone(),
                    tier.model,
                    tier.cascade,
                    metrics.clone(),
                )) as Box<dyn Stage>
            })
            .collect();
        let mut after_store: Vec<Box<dyn Stage>> =
            vec![Box::new(TopicsStage::new(listening.clone()))];
        if profiles_inline {
            match self.profiles() {
                Ok(profiles) => after_store.push(Box::new(ProfilesStage::new(profiles))),
                Err(e) => tracing::error!(error = %e.message, "profiles are off: bad settings"),
            }
        }
        after_store.push(Box::new(needle_cases::CasesStage::new(
            self.store.clone(),
            needle_cases::Policy::default(),
        )));
        after_store.extend(feed.map(|feed| Box::new(AnnounceStage::new(feed)) as Box<dyn Stage>));
        Pipeline::standard(
            self.store.clone() as Arc<dyn Store>,
            (with_index && self.index_writable).then(|| self.index.clone()),
            metrics,
            tiers.fast,
            before_store,
            after_store,
        )
    }
}
