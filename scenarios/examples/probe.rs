// Temporary probe (to be deleted).
fn main() {
    for a in std::env::args().skip(1) {
        match scenarios::load(std::path::Path::new(&a)) {
            Ok(l) => println!("{a}: OK notes={:?}", l.notes),
            Err(e) => {
                println!("{e}");
                if let Some(s) = e.span.clone() { println!("  span text: {:?}", e.source_text.get(s)); }
            }
        }
    }
}
