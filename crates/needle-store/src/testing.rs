//! A private PostgreSQL server for tests, this crate's and other crates'.
//!
//! [`TestPostgres::start`] runs `initdb` into a fresh temporary directory and starts a server
//! of its own on a free 127.0.0.1 port (unix socket in the same directory, `fsync` off), so
//! tests touch no PostgreSQL that is already on the machine. [`TestPostgres::shared`] starts
//! one per test process; [`TestPostgres::fresh_database`] gives each test an empty database
//! on it.
//!
//! ```no_run
//! # use needle_store::testing::TestPostgres;
//! let Some(pg) = TestPostgres::shared() else { return }; // no PostgreSQL installed: skip
//! let url = pg.fresh_database();
//! ```
//!
//! PostgreSQL refuses to run as root, and tests run as root in CI: then `initdb`, `pg_ctl` and
//! the server run as the `postgres` system user (through `runuser`, else `su`), and the
//! directory is handed to that user.
//!
//! Cleanup does not rely on `Drop` alone: a shared server lives in a `static`, which is never
//! dropped, and a test process can be killed. A watchdog shell, started before anything else,
//! waits for its standard input to close (on drop, or when the test process exits however it
//! exits), then stops the server (`pg_ctl stop -m immediate`) and removes the directory.

use std::fs;
use std::hash::BuildHasher;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The superuser the server is initialised with.
const USER: &str = "needle";
/// The database [`TestPostgres::url`] names, created at start.
const DATABASE: &str = "needle";

/// A PostgreSQL server of our own; stopped, and its directory removed, when dropped.
pub struct TestPostgres {
    dir: PathBuf,
    port: u16,
    password: String,
    next_database: AtomicU32,
    // Fields drop in order: the admin connection closes before the watchdog stops the server.
    admin: Mutex<::postgres::Client>,
    _watchdog: Watchdog,
}

impl TestPostgres {
    /// Starts a private server, or `None` when no PostgreSQL binaries are installed.
    ///
    /// Panics when the binaries are there but the server will not start: that is a broken
    /// machine, not a reason to skip.
    pub fn start() -> Option<TestPostgres> {
        match Self::try_start() {
            Ok(pg) => pg,
            Err(e) => panic!("cannot start a private PostgreSQL server: {e}"),
        }
    }

    /// The server of this test process, started on first use; `None` (after printing a
    /// "skipped" line once) when no PostgreSQL binaries are installed.
    pub fn shared() -> Option<&'static TestPostgres> {
        static SHARED: OnceLock<Result<Option<TestPostgres>, String>> = OnceLock::new();
        let started = SHARED.get_or_init(|| {
            let started = Self::try_start();
            if let Ok(None) = started {
                print_skipped();
            }
            started
        });
        match started {
            Ok(pg) => pg.as_ref(),
            Err(e) => panic!("cannot start the shared PostgreSQL server: {e}"),
        }
    }

    /// `postgres://…` for the database created at start.
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    /// Creates an empty database with a name of its own and returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "needle_test_{}",
            self.next_database.fetch_add(1, Ordering::Relaxed)
        );
        self.admin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e:?}"));
        self.url_for(&name)
    }

    /// As [`TestPostgres::fresh_database`], but text sorts by the ICU collation of `locale`
    /// (`en`, say) where a query does not say otherwise, not by bytes as on the C locale the
    /// server runs with: for tests that the output does not hang on the database's locale.
    /// `None` when this PostgreSQL has no ICU support.
    pub fn fresh_database_with_icu_collation(&self, locale: &str) -> Option<String> {
        let name = format!(
            "needle_test_{}",
            self.next_database.fetch_add(1, Ordering::Relaxed)
        );
        let locale = locale.replace('\'', "''");
        self.admin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
                 LOCALE_PROVIDER icu ICU_LOCALE '{locale}' LOCALE 'C'"
            ))
            .ok()?;
        Some(self.url_for(&name))
    }

    /// The port the server listens on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory: `data/`, the unix socket, and `postgres.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    fn try_start() -> Result<Option<TestPostgres>, String> {
        let Some(bin) = find_bindir() else {
            return Ok(None);
        };
        let dir = make_dir()?;
        let runner = Runner::for_dir(&dir).inspect_err(|_| {
            let _ = fs::remove_dir_all(&dir);
        })?;
        let data = dir.join("data");
        let pg_ctl = bin.join("pg_ctl");
        // From here on, every way out (errors included) stops the server and removes `dir`.
        let watchdog = Watchdog::spawn(&dir, runner.command_line(&pg_ctl, &stop_args(&data)))?;

        let password = random_hex();
        let pwfile = dir.join("pwfile");
        fs::write(&pwfile, &password).map_err(|e| format!("{}: {e}", pwfile.display()))?;
        runner.give(&pwfile)?;
        let initdb = runner
            .command(
                &bin.join("initdb"),
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-U".as_ref(),
                    USER.as_ref(),
                    format!("--pwfile={}", pwfile.display()).as_ref(),
                    "--auth-local=trust".as_ref(),
                    "--auth-host=scram-sha-256".as_ref(),
                    "--encoding=UTF8".as_ref(),
                    "--locale=C".as_ref(),
                    // Nothing here needs to survive a power cut.
                    "--no-sync".as_ref(),
                ],
            )
            .current_dir(&dir)
            .output();
        check("initdb", initdb)?;
        let _ = fs::remove_file(&pwfile);

        let socket_dir = dir.display().to_string().replace('\'', "''");
        let settings = format!(
            "\n# Added by needle_store::testing\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{socket_dir}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n"
        );
        let conf = data.join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|e| format!("{}: {e}", conf.display()))?;

        // A free port can be taken by someone else before the server binds it: try again.
        let log = dir.join("postgres.log");
        let mut port = 0;
        for attempt in 1..=5 {
            port = free_port()?;
            let started = runner
                .command(
                    &pg_ctl,
                    &[
                        "start".as_ref(),
                        "-D".as_ref(),
                        data.as_os_str(),
                        "-l".as_ref(),
                        log.as_os_str(),
                        "-o".as_ref(),
                        format!("-p {port}").as_ref(),
                        // Wait until it accepts connections.
                        "-w".as_ref(),
                        "-t".as_ref(),
                        "120".as_ref(),
                    ],
                )
                .current_dir(&dir)
                .output();
            match check("pg_ctl start", started) {
                Ok(()) => break,
                Err(e) => {
                    let log_text = fs::read_to_string(&log).unwrap_or_default();
                    if attempt < 5 && log_text.contains("could not bind") {
                        continue;
                    }
                    return Err(format!("{e}\n{}", tail(&log_text)));
                }
            }
        }

        let mut admin = connect_admin(&format!(
            "postgres://{USER}:{password}@127.0.0.1:{port}/postgres"
        ))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .map_err(|e| format!("cannot create database {DATABASE}: {e:?}"))?;
        let pg = TestPostgres {
            dir,
            port,
            password,
            next_database: AtomicU32::new(0),
            admin: Mutex::new(admin),
            _watchdog: watchdog,
        };
        Ok(Some(pg))
    }
}

/// Connects as the superuser, retrying briefly: `pg_ctl -w` has said the server is ready,
/// but a loaded machine can still be slow to accept.
fn connect_admin(url: &str) -> Result<::postgres::Client, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ::postgres::Client::connect(url, ::postgres::NoTls) {
            Ok(client) => return Ok(client),
            Err(e) if Instant::now() < deadline && e.as_db_error().is_none() => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(format!("cannot connect to the test server: {e:?}")),
        }
    }
}

/// Says once, past the test harness's output capture, why PostgreSQL tests did nothing.
fn print_skipped() {
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no PostgreSQL binaries (looked in `pg_config --bindir` and \
         /usr/lib/postgresql/*/bin); install the `postgresql` package to run the \
         PostgreSQL tests"
    );
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`, else the
/// newest of Debian's /usr/lib/postgresql/<version>/bin.
fn find_bindir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|program| dir.join(program).is_file())
    };
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // pg_config can come with the client library alone, without a server.
        if complete(&dir) {
            return Some(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A new, empty, private directory under the system's temp dir.
fn make_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    for _ in 0..10 {
        let dir = base.join(format!(
            "needle-pg-{}-{}",
            std::process::id(),
            &random_hex()[..8]
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", dir.display())),
        }
    }
    Err(format!("cannot make a directory in {}", base.display()))
}

fn random_hex() -> String {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // RandomState is seeded from the OS: no dependency needed for a throwaway password.
    let hash = std::collections::hash_map::RandomState::new().hash_one(seed);
    format!("{hash:016x}")
}

/// A port nobody listened on a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn stop_args(data: &Path) -> Vec<String> {
    ["stop", "-D", &data.display().to_string(), "-m", "immediate"]
        .map(String::from)
        .to_vec()
}

fn check(what: &str, output: std::io::Result<Output>) -> Result<(), String> {
    let output = output.map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// The last lines of a log, for error messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// How PostgreSQL's programs are run: directly, or, when we are root, as `postgres`.
enum Runner {
    Direct,
    AsPostgres {
        uid: u32,
        gid: u32,
        /// `runuser` (util-linux) when there is one, else `su`.
        runuser: bool,
    },
}

impl Runner {
    /// Picks the way for the user that owns `dir`: a directory we just made is owned by our
    /// effective user, which tells whether we are root without `unsafe { geteuid() }`.
    fn for_dir(dir: &Path) -> Result<Runner, String> {
        let owner = fs::metadata(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .uid();
        if owner != 0 {
            return Ok(Runner::Direct);
        }
        let id = |flag: &str| -> Result<u32, String> {
            let out = Command::new("id")
                .args([flag, "postgres"])
                .output()
                .map_err(|e| format!("cannot run id: {e}"))?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .map_err(|_| {
                    "running as root, which PostgreSQL refuses, and there is no `postgres` \
                     user to run it as"
                        .to_string()
                })
        };
        let runner = Runner::AsPostgres {
            uid: id("-u")?,
            gid: id("-g")?,
            runuser: Command::new("runuser")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        };
        runner.give(dir)?;
        Ok(runner)
    }

    /// Hands `path` to the user the server runs as.
    fn give(&self, path: &Path) -> Result<(), String> {
        match self {
            Runner::Direct => Ok(()),
            Runner::AsPostgres { uid, gid, .. } => {
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                    .map_err(|e| format!("cannot chown {}: {e}", path.display()))
            }
        }
    }

    fn command(&self, program: &Path, args: &[&std::ffi::OsStr]) -> Command {
        match self {
            Runner::Direct => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            Runner::AsPostgres { runuser: true, .. } => {
                let mut command = Command::new("runuser");
                command
                    .args(["-u", "postgres", "--"])
                    .arg(program)
                    .args(args);
                command
            }
            Runner::AsPostgres { runuser: false, .. } => {
                let words: Vec<String> = std::iter::once(program.as_os_str())
                    .chain(args.iter().copied())
                    .map(|word| shell_quote(&word.to_string_lossy()))
                    .collect();
                let mut command = Command::new("su");
                command
                    .args(["postgres", "-s", "/bin/sh", "-c"])
                    .arg(format!("exec {}", words.join(" ")));
                command
            }
        }
    }

    /// The words of [`Runner::command`], for the watchdog to run later.
    fn command_line(&self, program: &Path, args: &[String]) -> Vec<String> {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let command = self.command(program, &args);
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|word| word.to_string_lossy().into_owned())
            .collect()
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A shell that stops the server and removes its directory once its standard input closes.
struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

/// Ignores the terminal's signals (a Ctrl-C on `cargo test` must not kill the cleanup), waits
/// for end of input, stops the server if one runs, and removes the directory.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT TERM HUP
read _ignored
"$@" >/dev/null 2>&1
rm -rf "$NEEDLE_TEST_PG_DIR""#;

impl Watchdog {
    fn spawn(dir: &Path, stop: Vec<String>) -> Result<Watchdog, String> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("needle-test-postgres-watchdog")
            .args(stop)
            .env("NEEDLE_TEST_PG_DIR", dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            // Not our stdout: a harness reading it must not wait for the watchdog.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_server_serves_and_is_gone_after_drop() {
        let Some(pg) = TestPostgres::start() else {
            print_skipped();
            return;
        };
        let url = pg.url();
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
        drop(client);
        let dir = pg.dir().to_path_buf();
        assert!(dir.join("data").is_dir());
        drop(pg);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(
            ::postgres::Client::connect(&url, ::postgres::NoTls).is_err(),
            "the server still answers"
        );
    }

    #[test]
    fn fresh_databases_are_distinct_and_empty() {
        let Some(pg) = TestPostgres::shared() else {
            return;
        };
        let (a, b) = (pg.fresh_database(), pg.fresh_database());
        assert_ne!(a, b);
        for url in [a, b] {
            let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            let tables: i64 = client
                .query_one(
                    "SELECT count(*) FROM information_schema.tables
                     WHERE table_schema = current_schema()",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(tables, 0);
        }
    }
}
