//! A private NATS server for tests, this crate's and other crates'.
//!
//! [`TestNats::start`] runs `nats-server -js` on a free 127.0.0.1 port with its JetStream
//! store in a fresh temporary directory, so tests never touch a server that is already on
//! the machine (such as one on 4222). [`TestNats::stop`] kills it (SIGKILL, as a crash
//! would) and [`TestNats::restart`] starts it again on the same port and store.
//!
//! ```no_run
//! # use needle_bus::testing::TestNats;
//! let Some(mut nats) = TestNats::start() else { return }; // no nats-server: skip
//! let url = nats.url();
//! nats.stop();
//! nats.restart();
//! ```
//!
//! The binary is `$NEEDLE_NATS_SERVER`, else `nats-server` on the `PATH`, else Debian's
//! `/usr/sbin/nats-server` (package `nats-server`).
//!
//! Cleanup does not rely on `Drop` alone, since a test process can be killed: beside each
//! server runs a watchdog shell that waits for its standard input to close (which happens
//! however our process ends), then kills the server and removes the directory.

use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A NATS server with JetStream of our own; killed, and its directory removed, when dropped.
pub struct TestNats {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    running: Option<Running>,
}

struct Running {
    server: Child,
    _watchdog: Watchdog,
}

impl TestNats {
    /// Starts a private server, or `None` (after saying so once) when there is no
    /// `nats-server` binary.
    ///
    /// Panics when the binary is there but the server will not start: that is a broken
    /// machine, not a reason to skip.
    pub fn start() -> Option<TestNats> {
        let Some(bin) = find_binary() else {
            print_skipped();
            return None;
        };
        let dir = make_dir().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
        let mut nats = TestNats {
            bin,
            dir,
            port: 0,
            running: None,
        };
        // A free port can be taken by someone else before the server binds it: try again.
        for attempt in 1..=5 {
            nats.port = free_port().unwrap_or_else(|e| panic!("{e}"));
            match nats.spawn() {
                Ok(running) => {
                    nats.running = Some(running);
                    return Some(nats);
                }
                Err(e) if attempt < 5 && e.contains("address already in use") => continue,
                Err(e) => panic!("cannot start nats-server: {e}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory: `store/` (JetStream) and `nats.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Kills the server (SIGKILL: no chance to flush anything, as in a crash) and waits for
    /// it to be gone. Does nothing when it is not running.
    pub fn stop(&mut self) {
        if let Some(mut running) = self.running.take() {
            let _ = running.server.kill();
            let _ = running.server.wait();
            // Dropping `running` now ends its watchdog without letting it act: the server is
            // gone and the directory is still ours.
        }
    }

    /// Stops the server if it runs, then starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        // The port was ours a moment ago; TIME_WAIT does not stop a listener from binding
        // it, but give another process's brief grab of it a few chances to pass.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(running) => {
                    self.running = Some(running);
                    return;
                }
                Err(e) if Instant::now() < deadline && e.contains("address already in use") => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("cannot restart nats-server: {e}"),
            }
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("nats.log")
    }

    fn spawn(&self) -> Result<Running, String> {
        let log_path = self.log_path();
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_len = log.metadata().map(|m| m.len()).unwrap_or(0);
        let stderr = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let store = self.dir.join("store");
        let mut server = Command::new(&self.bin)
            .arg("-js")
            .arg("-sd")
            .arg(&store)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        let watchdog = match Watchdog::spawn(server.id(), &self.dir) {
            Ok(watchdog) => watchdog,
            Err(e) => {
                let _ = server.kill();
                let _ = server.wait();
                return Err(e);
            }
        };
        let mut running = Running {
            server,
            _watchdog: watchdog,
        };
        let new_log = || {
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            text.get(log_len as usize..).unwrap_or_default().to_string()
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = running.server.try_wait() {
                return Err(format!("nats-server exited ({status}):\n{}", new_log()));
            }
            if accepts(self.port) {
                return Ok(running);
            }
            if Instant::now() >= deadline {
                let _ = running.server.kill();
                let _ = running.server.wait();
                return Err(format!(
                    "nats-server did not accept connections within {START_TIMEOUT:?}:\n{}",
                    new_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Whether a NATS server with JetStream answers on the port: it greets every connection
/// with an `INFO {…}` line.
fn accepts(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok()
        && line.starts_with("INFO ")
        && line.contains("\"jetstream\":true")
}

/// Says once per test process, past the harness's output capture, why NATS tests did nothing.
fn print_skipped() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no nats-server (looked at $NEEDLE_NATS_SERVER, the PATH and \
             /usr/sbin/nats-server); install the `nats-server` package to run the \
             JetStream tests"
        );
    }
}

fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NEEDLE_NATS_SERVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// A new, empty, private directory under the system's temp dir.
fn make_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    for _ in 0..10 {
        let dir = base.join(format!(
            "needle-nats-{}-{}",
            std::process::id(),
            random_hex()
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
    // RandomState is seeded from the OS: no dependency needed for a throwaway name.
    let hash = std::collections::hash_map::RandomState::new().hash_one(seed);
    format!("{:08x}", hash as u32)
}

/// A port nobody listened on a moment ago.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A shell that kills one server process and removes the directory once its standard input
/// closes: when our process ends, however it ends. Dropped while we are alive, it is killed
/// before it acts.
struct Watchdog {
    child: Child,
    _stdin: ChildStdin,
}

/// Ignores the terminal's signals (a Ctrl-C on `cargo test` must not kill the cleanup),
/// waits for end of input, kills the server, waits (a bounded while) until it is dead so
/// that it writes nothing more into the directory, and removes the directory. "Dead"
/// includes a zombie: an init that does not reap orphans (as in some containers) leaves one.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT TERM HUP
read _ignored
kill -9 "$1" 2>/dev/null
i=0
while [ $i -lt 50 ] && grep -q '^State:[[:space:]]*[^Z[:space:]]' "/proc/$1/status" 2>/dev/null
do sleep 0.1; i=$((i + 1)); done
rm -rf "$2""#;

impl Watchdog {
    fn spawn(server_pid: u32, dir: &Path) -> Result<Watchdog, String> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("needle-test-nats-watchdog")
            .arg(server_pid.to_string())
            .arg(dir)
            .current_dir("/")
            .stdin(Stdio::piped())
            // Not our stdout: a harness reading it must not wait for the watchdog.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        Ok(Watchdog {
            child,
            _stdin: stdin,
        })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Killed while its input is still open, it never reaches the cleanup: that was
        // the server's owner's job, done already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_server_stops_restarts_and_is_gone_after_drop() {
        let Some(mut nats) = TestNats::start() else {
            return;
        };
        assert_ne!(nats.port(), 4222);
        assert!(accepts(nats.port()));
        nats.stop();
        assert!(!nats.is_running());
        assert!(!accepts(nats.port()));
        nats.restart();
        assert!(accepts(nats.port()));
        let dir = nats.dir().to_path_buf();
        assert!(dir.join("store").is_dir());
        let port = nats.port();
        drop(nats);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        assert!(!accepts(port), "the server still answers");
    }
}
