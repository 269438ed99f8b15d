//! Prints generated messages, for looking at them:
//! `cargo run -p needle-demo --example sample -- demo 20` or `-- bench 20`.

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "demo".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let corpus = needle_demo::Corpus::new(1);
    if kind == "bench" {
        for line in corpus.bench_lines(n) {
            println!("{line}");
        }
    } else {
        for m in corpus.demo_conversations(n as usize) {
            println!("{m}");
        }
    }
}
