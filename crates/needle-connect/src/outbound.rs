//! The one HTTP client every connector uses to reach the outside world.
//!
//! A feed URL or a webhook target is typed in by a user, so the client guards the operator's
//! network: it refuses loopback, private, link-local (the cloud metadata service at
//! 169.254.169.254) and other non-public addresses unless the operator allows them, checks
//! every address a name resolves to *and* connects only to the checked ones (so a name that
//! resolves differently the second time cannot slip through), applies the same check to every
//! redirect, ignores proxy variables, caps the body and times out.

use std::io::{self, BufRead, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// The variable that lists the non-public networks an operator lets connectors reach.
pub const ALLOW_VARIABLE: &str = "NEEDLE_OUTBOUND_ALLOW";

/// What outbound requests may do.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Non-public networks that may be reached all the same (an intranet feed, a test server).
    pub allow: Vec<IpNet>,
    /// For the whole request: connect, send, and read the body.
    pub timeout: Duration,
    /// Largest body read; a longer one is an error, never a truncated success.
    pub max_body: u64,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        OutboundPolicy {
            allow: Vec::new(),
            timeout: Duration::from_secs(30),
            max_body: 16 * 1024 * 1024,
        }
    }
}

impl OutboundPolicy {
    /// The default policy with the networks listed in `NEEDLE_OUTBOUND_ALLOW` (comma-separated
    /// CIDRs or single addresses: `127.0.0.0/8,::1,10.1.2.3`).
    pub fn from_env() -> Result<OutboundPolicy, String> {
        let mut policy = OutboundPolicy::default();
        if let Ok(list) = std::env::var(ALLOW_VARIABLE) {
            policy.allow = parse_networks(&list).map_err(|e| format!("{ALLOW_VARIABLE}: {e}"))?;
        }
        Ok(policy)
    }

    /// Whether a connection to `ip` is allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// Reads `127.0.0.0/8, ::1` into networks; a bare address is a network of one.
pub fn parse_networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not a network such as 10.0.0.0/8 or an address"))
        })
        .collect()
}

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (carrier-grade NAT), unspecified, multicast, broadcast or reserved for
/// documentation. IPv4 written inside IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0xdb8 // documentation
                || first == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 can reach IPv4 inside
        }
    }
}

/// Why an outbound request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    #[error("{0}")]
    Refused(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the body is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Network(String),
}

impl OutboundError {
    /// Whether trying again later may work (a refusal or a bad URL will not).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            OutboundError::Timeout(_) | OutboundError::Network(_) | OutboundError::TooLarge(_)
        )
    }
}

/// An answer: any status, the headers the connectors read, and the whole body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The answer when its status is a success (2xx); otherwise what the status means for
    /// trying again: 408, 425, 429 and 5xx are worth retrying (after `Retry-After` when the
    /// remote gave one), every other status is final, with the start of what the remote said.
    /// `who` names the remote in the reason ("https://…/feed.xml answered 503").
    pub fn success(self, who: &str) -> Result<Answer, crate::ConnectorError> {
        let status = self.status;
        match status {
            200..=299 => Ok(self),
            408 | 425 | 429 | 500..=599 => Err(crate::ConnectorError::Retryable {
                reason: format!("{who} answered {status}"),
                after: self.retry_after(),
            }),
            _ => {
                let said: String = String::from_utf8_lossy(&self.body)
                    .trim()
                    .chars()
                    .take(200)
                    .collect();
                Err(crate::ConnectorError::Final(if said.is_empty() {
                    format!("{who} answered {status}")
                } else {
                    format!("{who} answered {status}: {said}")
                }))
            }
        }
    }

    /// `Retry-After` in seconds (the HTTP-date form is read as "a minute").
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        Some(match value.parse::<u64>() {
            Ok(seconds) => Duration::from_secs(seconds.min(24 * 3600)),
            Err(_) => Duration::from_secs(60),
        })
    }
}

/// The guarded client. Cheap to clone; connections are pooled.
#[derive(Clone)]
pub struct Outbound {
    agent: ureq::Agent,
    policy: Arc<OutboundPolicy>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("policy", &self.policy)
            .finish()
    }
}

impl Outbound {
    pub fn new(policy: OutboundPolicy) -> Outbound {
        let policy = Arc::new(policy);
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(policy.timeout))
            .http_status_as_error(false)
            .max_redirects(5)
            // A proxy would be resolved instead of the target, and the guard would check it.
            .proxy(None)
            .user_agent(concat!("Needle/", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = GuardedResolver {
            policy: policy.clone(),
        };
        Outbound {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver),
            policy,
        }
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// GET with the given headers.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Answer, OutboundError> {
        check_url(url)?;
        let mut request = self.agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.read(request.call())
    }

    /// POST a body with the given headers.
    pub fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, OutboundError> {
        check_url(url)?;
        let mut request = self.agent.post(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.read(request.send(body))
    }

    /// GET a stream that stays open (server-sent events): no overall time limit, but each
    /// read must bring something (data or a heartbeat) within `read_timeout`. Returns the
    /// status and, for a 2xx, the body to read line by line.
    pub fn stream(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        read_timeout: Duration,
    ) -> Result<(u16, Box<dyn BufRead + Send>), OutboundError> {
        check_url(url)?;
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(self.policy.timeout))
            .timeout_per_read(Some(read_timeout))
            .http_status_as_error(false)
            .max_redirects(5)
            .proxy(None)
            .user_agent(concat!("Needle/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            DefaultConnector::default(),
            GuardedResolver {
                policy: self.policy.clone(),
            },
        );
        let mut request = agent.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.call().map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let reader = response.into_body().into_reader();
        Ok((status, Box::new(std::io::BufReader::new(reader))))
    }

    fn read(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, OutboundError> {
        let mut response = sent.map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        // One byte over the cap tells "exactly the cap" from "too large".
        let mut body = Vec::new();
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(self.policy.max_body + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.error(ureq::Error::Io(e)))?;
        if body.len() as u64 > self.policy.max_body {
            return Err(OutboundError::TooLarge(self.policy.max_body));
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    fn error(&self, e: ureq::Error) -> OutboundError {
        match e {
            ureq::Error::Timeout(_) => OutboundError::Timeout(self.policy.timeout),
            ureq::Error::Io(io) if io.kind() == io::ErrorKind::PermissionDenied => {
                OutboundError::Refused(io.to_string())
            }
            ureq::Error::Io(io) if io.kind() == io::ErrorKind::TimedOut => {
                OutboundError::Timeout(self.policy.timeout)
            }
            ureq::Error::BodyExceedsLimit(_) => OutboundError::TooLarge(self.policy.max_body),
            ureq::Error::TooManyRedirects => OutboundError::Network("more than 5 redirects".into()),
            ureq::Error::HostNotFound => OutboundError::Network("the host name is unknown".into()),
            other => OutboundError::Network(other.to_string()),
        }
    }
}

fn check_url(url: &str) -> Result<(), OutboundError> {
    let uri: Uri = url
        .parse()
        .map_err(|_| OutboundError::BadUrl(url.to_string()))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(OutboundError::BadUrl(url.to_string())),
    }
}

/// Resolves as usual, then keeps only the addresses the policy permits: ureq connects to
/// what the resolver returns, so nothing else is ever dialled.
#[derive(Debug)]
struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = DefaultResolver::default().resolve(uri, config, timeout)?;
        let mut permitted = self.empty();
        let mut refused = None;
        for addr in resolved.iter() {
            if self.policy.permits(addr.ip()) {
                permitted.push(*addr);
            } else {
                refused.get_or_insert(addr.ip());
            }
        }
        match (permitted.is_empty(), refused) {
            (true, Some(ip)) => {
                let host = uri.host().unwrap_or("the host").trim_matches(['[', ']']);
                let what = if host.parse::<IpAddr>().is_ok() {
                    format!("{ip} is a non-public address")
                } else {
                    format!("{host} resolves to {ip}, a non-public address")
                };
                Err(ureq::Error::Io(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{what}; an operator can allow it with {ALLOW_VARIABLE}"),
                )))
            }
            (true, None) => Err(ureq::Error::HostNotFound),
            (false, _) => Ok(permitted),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
        ] {
            assert!(
                !is_public(ip(private)),
                "{private} must not count as public"
            );
        }
        for public in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn networks_parse_with_clear_errors() {
        let nets = parse_networks(" 127.0.0.0/8, ::1 ,10.0.0.7").unwrap();
        assert_eq!(nets.len(), 3);
        let policy = OutboundPolicy {
            allow: nets,
            ..OutboundPolicy::default()
        };
        assert!(policy.permits(ip("127.9.9.9")));
        assert!(policy.permits(ip("10.0.0.7")));
        assert!(!policy.permits(ip("10.0.0.8")));
        let e = parse_networks("127.0.0.0/8,localhost").unwrap_err();
        assert!(e.contains("\"localhost\""), "{e}");
    }

    /// A server on loopback that answers every connection with `reply` after `delay`.
    fn serve(reply: Vec<u8>, delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let reply = reply.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    std::thread::sleep(delay);
                    let _ = stream.write_all(&reply);
                });
            }
        });
        format!("http://{address}/feed")
    }

    fn loopback_allowed(timeout: Duration, max_body: u64) -> Outbound {
        Outbound::new(OutboundPolicy {
            allow: parse_networks("127.0.0.0/8").unwrap(),
            timeout,
            max_body,
        })
    }

    fn http(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nRetry-After: 7\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn loopback_is_refused_unless_allowed() {
        let url = serve(http("200 OK", "hello"), Duration::ZERO);
        let e = Outbound::new(OutboundPolicy::default())
            .get(&url, &[])
            .unwrap_err();
        assert!(matches!(e, OutboundError::Refused(_)), "{e:?}");
        assert!(e.to_string().contains("127.0.0.1"), "{e}");
        assert!(!e.is_retryable());

        let answer = loopback_allowed(Duration::from_secs(5), 1024)
            .get(&url, &[])
            .unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"hello"[..])
        );
    }

    #[test]
    fn the_metadata_address_and_other_schemes_are_refused() {
        let client = loopback_allowed(Duration::from_secs(2), 1024);
        let e = client
            .get("http://169.254.169.254/latest/meta-data/", &[])
            .unwrap_err();
        assert!(matches!(e, OutboundError::Refused(_)), "{e:?}");
        for bad in [
            "file:///etc/passwd",
            "ftp://example.com/",
            "not a url",
            "http://",
        ] {
            let e = client.get(bad, &[]).unwrap_err();
            assert!(matches!(e, OutboundError::BadUrl(_)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn a_redirect_to_an_address_not_allowed_is_refused() {
        // Only 127.0.0.1 is allowed; the redirect goes to 127.0.0.2, which is loopback too
        // (and answers), but not allowed.
        let target = TcpListener::bind("127.0.0.2:0").unwrap();
        let target_url = format!("http://{}/elsewhere", target.local_addr().unwrap());
        let reached = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = reached.clone();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = target.accept() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(&http("200 OK", "secret"));
            }
        });
        let moved = format!(
            "HTTP/1.1 302 Found\r\nLocation: {target_url}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let url = serve(moved.into_bytes(), Duration::ZERO);
        let client = Outbound::new(OutboundPolicy {
            allow: parse_networks("127.0.0.1/32").unwrap(),
            ..OutboundPolicy::default()
        });
        let e = client.get(&url, &[]).unwrap_err();
        assert!(matches!(e, OutboundError::Refused(_)), "{e:?}");
        assert!(e.to_string().contains("127.0.0.2"), "{e}");
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !reached.load(std::sync::atomic::Ordering::SeqCst),
            "the refused address was dialled"
        );
    }

    #[test]
    fn error_statuses_are_answers_with_retry_after() {
        let url = serve(http("429 Too Many Requests", "slow down"), Duration::ZERO);
        let answer = loopback_allowed(Duration::from_secs(5), 1024)
            .get(&url, &[])
            .unwrap();
        assert_eq!(answer.status, 429);
        assert_eq!(answer.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_hanging_server_times_out_and_a_huge_body_is_refused() {
        let hanging = serve(http("200 OK", "late"), Duration::from_secs(5));
        let started = std::time::Instant::now();
        let e = loopback_allowed(Duration::from_millis(300), 1024)
            .get(&hanging, &[])
            .unwrap_err();
        assert!(matches!(e, OutboundError::Timeout(_)), "{e:?}");
        assert!(started.elapsed() < Duration::from_secs(3));

        let huge = serve(http("200 OK", &"x".repeat(5000)), Duration::ZERO);
        let e = loopback_allowed(Duration::from_secs(5), 4096)
            .get(&huge, &[])
            .unwrap_err();
        assert!(matches!(e, OutboundError::TooLarge(4096)), "{e:?}");
        let exact = serve(http("200 OK", &"x".repeat(4096)), Duration::ZERO);
        let answer = loopback_allowed(Duration::from_secs(5), 4096)
            .get(&exact, &[])
            .unwrap();
        assert_eq!(answer.body.len(), 4096);
    }
}
