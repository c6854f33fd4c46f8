// Temporary probe (to be deleted).
fn main() {
    for a in std::env::args().skip(1) {
        let src = std::fs::read_to_string(&a).unwrap_or_default();
        let opts = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        if let Err(e) = opts.from_str::<scenarios::raw::Scenario>(&src) { println!("RON: {:?}", e); }
        match scenarios::load(std::path::Path::new(&a)) {
            Ok(l) => println!("{a}: OK notes={:?}", l.notes),
            Err(e) => {
                println!("{e}");
                if let Some(s) = e.span.clone() { println!("  span text: {:?}", e.source_text.get(s)); }
            }
        }
    }
}
