//! `needle import`: files through the same pipeline as live traffic, a progress bar on a
//! terminal, a rejects file beside each input, and one summary line.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use indicatif::{ProgressBar, ProgressStyle};
use needle_core::import::{CsvRows, Format, JsonLines, Record, parse_mapping};
use needle_pipeline::{Batch, Item, Outcome, Pipeline, PipelineMetrics};
use serde_json::json;

use crate::cli::{DataArgs, FormatArg, ModelTierArgs};
use crate::context::DataDir;
use crate::failure::{CliResult, Failure};
use crate::model_tier::{ModelTier, Tiers};

/// How many reject reasons are echoed on standard error before summarising the rest.
const ECHOED_REJECTS: u64 = 20;

/// Counts of one import.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub imported: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// How to import, besides what and where.
pub struct ImportOptions {
    pub format: Option<FormatArg>,
    /// CSV column per message field.
    pub mapping: Vec<(String, String)>,
    pub batch_size: usize,
    pub show_progress: bool,
    /// The fast tier (with fastText's language model when it was fetched).
    pub classifier: needle_classify::Classifier,
    /// Sentiment from the model tier for the messages its cascade picks.
    pub model_tier: Option<ModelTier>,
}

impl ImportOptions {
    /// JSON Lines or CSV by extension, no mapping, no progress bar, the fast tier only.
    pub fn plain(batch_size: usize) -> ImportOptions {
        ImportOptions {
            format: None,
            mapping: Vec::new(),
            batch_size,
            show_progress: false,
            classifier: needle_classify::Classifier::default(),
            model_tier: None,
        }
    }
}

pub fn run(
    data: &DataArgs,
    files: &[PathBuf],
    format: Option<FormatArg>,
    map: &[String],
    batch: usize,
    model_tier: &ModelTierArgs,
) -> CliResult<i32> {
    let mapping = parse_mapping(map).map_err(|e| Failure::usage(e.to_string()))?;
    for file in files {
        let csv = format_of(file, format) == Format::Csv;
        if !mapping.is_empty() && !csv {
            return Err(Failure::usage(format!(
                "--map applies to CSV files; {} is read as JSON Lines",
                file.display()
            )));
        }
    }
    let dir = DataDir::open_for_import(data)?;
    let workspace = dir.store.ensure_workspace(&data.workspace, false)?;
    let models = model_tier.models_dir(&data.data);
    let model_tier = ModelTier::load(&models, model_tier, |name| {
        super::models::load_embedder_named(&models, name)
    });
    let options = ImportOptions {
        format,
        mapping,
        batch_size: batch,
        show_progress: std::io::stderr().is_terminal(),
        classifier: super::models::with_language_model(
            needle_classify::Classifier::default(),
            &models,
            false,
        ),
        model_tier,
    };
    let (summary, rejects) = import_files(&dir, workspace.id, files, options)?;
    let mut line = format!(
        "imported {}, duplicates {}, rejected {}",
        summary.imported, summary.duplicates, summary.rejected
    );
    if !rejects.is_empty() {
        let paths: Vec<String> = rejects.iter().map(|p| p.display().to_string()).collect();
        line.push_str(&format!(" (rejects in {})", paths.join(", ")));
    }
    println!("{line}");
    Ok(if summary.rejected > 0 { 1 } else { 0 })
}

fn format_of(file: &Path, format: Option<FormatArg>) -> Format {
    match format {
        Some(FormatArg::Csv) => Format::Csv,
        Some(FormatArg::Jsonl) => Format::JsonLines,
        None => Format::from_path(file),
    }
}

/// A reader that counts the bytes it hands out, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What the collector thread hears about.
enum Event {
    /// Refused while parsing.
    Rejected {
        file: usize,
        line: u64,
        reason: String,
        raw: Option<String>,
    },
    /// A batch came out of the pipeline.
    Done { file: usize, batch: Batch },
}

/// Writes rejects lazily: the file appears only when there is something to put in it.
struct Rejects {
    inputs: Vec<PathBuf>,
    data_dir: PathBuf,
    open: Vec<Option<(PathBuf, std::io::BufWriter<File>)>>,
    echoed: u64,
}

impl Rejects {
    fn write(&mut self, file: usize, line: u64, reason: &str, raw: Option<&str>) -> CliResult<()> {
        if self.echoed < ECHOED_REJECTS {
            eprintln!("{}:{line}: {reason}", self.inputs[file].display());
        }
        self.echoed += 1;
        if self.open[file].is_none() {
            self.open[file] = Some(self.create(file)?);
        }
        let (_, writer) = self.open[file].as_mut().expect("just opened");
        let record = json!({
            "file": self.inputs[file].display().to_string(),
            "line": line,
            "reason": reason,
            "raw": raw,
        });
        writeln!(writer, "{record}")
            .map_err(|e| Failure::environment(format!("cannot write rejects: {e}")))
    }

    /// Beside the input when that directory is writable, else in the data dir.
    fn create(&self, file: usize) -> CliResult<(PathBuf, std::io::BufWriter<File>)> {
        let input = &self.inputs[file];
        let name = format!(
            "{}.rejects.jsonl",
            input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "import".into())
        );
        let beside = input.with_file_name(&name);
        if let Ok(f) = File::create(&beside) {
            return Ok((beside, std::io::BufWriter::new(f)));
        }
        let fallback_dir = self.data_dir.join("rejects");
        std::fs::create_dir_all(&fallback_dir).map_err(|e| {
            Failure::environment(format!("cannot create {}: {e}", fallback_dir.display()))
        })?;
        let fallback = fallback_dir.join(&name);
        let f = File::create(&fallback).map_err(|e| {
            Failure::environment(format!("cannot write {}: {e}", fallback.display()))
        })?;
        Ok((fallback, std::io::BufWriter::new(f)))
    }

    fn finish(self) -> CliResult<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for (path, mut writer) in self.open.into_iter().flatten() {
            writer.flush().map_err(|e| {
                Failure::environment(format!("cannot write {}: {e}", path.display()))
            })?;
            paths.push(path);
        }
        Ok(paths)
    }
}

/// Imports `files` into a workspace; returns the counts and the rejects files written.
pub fn import_files(
    dir: &DataDir,
    workspace_id: i64,
    files: &[PathBuf],
    options: ImportOptions,
) -> CliResult<(Summary, Vec<PathBuf>)> {
    let ImportOptions {
        format,
        mapping,
        batch_size,
        show_progress,
        classifier,
        model_tier,
    } = options;
    let mut readers = Vec::new();
    let mut total_bytes = 0;
    for file in files {
        let handle = File::open(file)
            .map_err(|e| Failure::bad_input(format!("cannot read {}: {e}", file.display())))?;
        total_bytes += handle.metadata().map(|m| m.len()).unwrap_or(0);
        readers.push(handle);
    }
    let bytes_read = Arc::new(AtomicU64::new(0));
    let bar = if show_progress {
        let bar = ProgressBar::new(total_bytes);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .expect("progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let listening = dir.listening()?;
    let pipeline = dir.pipeline(
        &listening,
        Arc::new(PipelineMetrics::unregistered()),
        true,
        true,
        None,
        Tiers {
            fast: classifier,
            model: model_tier,
        },
    );
    let (events, heard) = mpsc::sync_channel::<Event>(64);
    let rejects = Rejects {
        inputs: files.to_vec(),
        data_dir: dir.path.clone(),
        open: files.iter().map(|_| None).collect(),
        echoed: 0,
    };
    let collector = std::thread::spawn(move || collect(heard, rejects));

    let mut environment_failure = None;
    'files: for (file_no, handle) in readers.into_iter().enumerate() {
        let counting = Counting {
            inner: handle,
            read: bytes_read.clone(),
        };
        let reader = BufReader::with_capacity(1 << 20, counting);
        let records: Box<dyn Iterator<Item = std::io::Result<Record>>> =
            match format_of(&files[file_no], format) {
                Format::JsonLines => Box::new(JsonLines::new(reader)),
                Format::Csv => match CsvRows::new(reader, &mapping) {
                    Ok(rows) => Box::new(rows),
                    Err(e) => {
                        let _ = events.send(Event::Rejected {
                            file: file_no,
                            line: 1,
                            reason: e.to_string(),
                            raw: None,
                        });
                        continue;
                    }
                },
            };
        let mut items = Vec::with_capacity(batch_size);
        for record in records {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    environment_failure = Some(Failure::environment(format!(
                        "reading {} failed: {e}",
                        files[file_no].display()
                    )));
                    break 'files;
                }
            };
            match record.outcome {
                Ok(message) => items.push(Item {
                    line: Some(record.line),
                    ..Item::new(message)
                }),
                Err(invalid) => {
                    let _ = events.send(Event::Rejected {
                        file: file_no,
                        line: record.line,
                        reason: invalid.to_string(),
                        raw: record.raw,
                    });
                }
            }
            if items.len() >= batch_size {
                submit(
                    &pipeline,
                    &events,
                    file_no,
                    workspace_id,
                    std::mem::take(&mut items),
                );
                bar.set_position(bytes_read.load(Ordering::Relaxed));
            }
        }
        if !items.is_empty() {
            submit(&pipeline, &events, file_no, workspace_id, items);
        }
    }
    // Make everything searchable, then let the pipeline drain.
    let flush_events = events.clone();
    let _ = pipeline.submit(Batch::flush(workspace_id), move |batch| {
        let _ = flush_events.send(Event::Done { file: 0, batch });
    });
    pipeline.shutdown();
    drop(events);
    bar.finish_and_clear();
    let (summary, rejects, failure) = collector.join().expect("collector thread")?;
    if let Some(failure) = environment_failure.or(failure) {
        return Err(failure);
    }
    Ok((summary, rejects))
}

fn submit(
    pipeline: &Pipeline,
    events: &mpsc::SyncSender<Event>,
    file: usize,
    workspace_id: i64,
    items: Vec<Item>,
) {
    let events = events.clone();
    let _ = pipeline.submit(Batch::new(workspace_id, items), move |batch| {
        let _ = events.send(Event::Done { file, batch });
    });
}

type Collected = (Summary, Vec<PathBuf>, Option<Failure>);

fn collect(heard: mpsc::Receiver<Event>, mut rejects: Rejects) -> CliResult<Collected> {
    let mut summary = Summary::default();
    let mut failure = None;
    for event in heard {
        match event {
            Event::Rejected {
                file,
                line,
                reason,
                raw,
            } => {
                summary.rejected += 1;
                rejects.write(file, line, &reason, raw.as_deref())?;
            }
            Event::Done { file, batch } => {
                for item in batch.items {
                    match item.outcome {
                        Outcome::Stored(_) => summary.imported += 1,
                        Outcome::Duplicate(_) => summary.duplicates += 1,
                        Outcome::Rejected(invalid) => {
                            summary.rejected += 1;
                            let raw = item.message.to_json().to_string();
                            rejects.write(
                                file,
                                item.line.unwrap_or(0),
                                &invalid.to_string(),
                                Some(&raw),
                            )?;
                        }
                        Outcome::Failed { code, reason } => {
                            failure.get_or_insert(Failure::new(code, reason));
                        }
                        Outcome::Pending => {
                            failure.get_or_insert(Failure::environment(
                                "a message left the pipeline unprocessed",
                            ));
                        }
                    }
                }
            }
        }
    }
    if rejects.echoed > ECHOED_REJECTS {
        eprintln!(
            "… and {} more rejected lines",
            rejects.echoed - ECHOED_REJECTS
        );
    }
    let paths = rejects.finish()?;
    Ok((summary, paths, failure))
}
