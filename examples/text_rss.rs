//! The resident text (executable code) of every shared library of this process, from
//! `elfmaps::label_process`: `cargo run --example text_rss`.
use std::collections::BTreeMap;

fn main() -> Result<(), elfmaps::Error> {
    let report = elfmaps::label_process(std::process::id())?;
    let exe = std::env::current_exe().ok();
    // Resident bytes of `text` regions per loaded object; an unknown term makes the
    // sum unknown (None), never a lower bound.
    let mut text: BTreeMap<usize, Option<u64>> = BTreeMap::new();
    for r in &report.regions {
        if let (elfmaps::Kind::Text, Some(i)) = (r.kind, r.instance) {
            let sum = text.entry(i).or_insert(Some(0));
            *sum = sum.zip(r.figures.rss).map(|(a, b)| a + b);
        }
    }
    for (i, rss) in text {
        let object = &report.objects[i];
        if exe.as_deref() == Some(object.path.as_ref()) {
            continue; // the executable, not a library
        }
        let rss = rss.map_or_else(|| "unknown".to_string(), |b| b.to_string());
        println!("{rss:>10} {}", object.path);
    }
    Ok(())
}
