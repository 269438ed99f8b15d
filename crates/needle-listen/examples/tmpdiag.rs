#[path = "listen_bench.rs"]
#[allow(dead_code)]
mod lb;
use std::collections::HashMap;
fn main() {
    let size: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let mut g = lb::TopicGen::new(size, 7);
    let gt: Vec<lb::GenTopic> = (0..size).map(|_| g.topic()).collect();
    let compiled: Vec<(u32, needle_nql::Topic)> = gt.iter().enumerate().map(|(i,t)| (i as u32, needle_listen::compile_topic("x","brand",&t.query,None).unwrap())).collect();
    let index = needle_listen::TopicIndex::new(compiled);
    let keys = index.debug_keys();
    let mut by_topic: HashMap<usize, Vec<String>> = HashMap::new();
    for (i,k) in keys { by_topic.entry(i).or_default().push(k); }
    // candidate frequency per topic over messages
    let msgs: Vec<needle_core::Message> = needle_demo::Corpus::new(7).bench_lines(20000).map(|l| { let mut m = needle_core::Message::from_json(serde_json::from_str(&l).unwrap()).unwrap(); needle_core::normalize::normalize(&mut m).unwrap(); m }).collect();
    let mut hits = vec![0u32; size];
    for m in &msgs { let doc = needle_listen::document_of(m); for (i, t) in index.topics().enumerate() { let _ = t; let _ = i; } 
        let mut s = needle_listen::PresearchScratch::default(); let _ = index.candidates(&doc, &mut s);
        for i in index.candidate_ids(&doc, &mut s) { hits[i as usize] += 1; } }
    let mut order: Vec<usize> = (0..size).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(hits[i]));
    let total: u32 = hits.iter().sum();
    println!("total candidate evals per msg {:.2}", total as f64 / msgs.len() as f64);
    for &i in order.iter().take(40) { println!("{:.3} {} KEYS {:?}", hits[i] as f64 / msgs.len() as f64, gt[i].query, by_topic.get(&i)); }
}
