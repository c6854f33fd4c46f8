//! The scenario files under tests/data, through the library: every bad file fails at the
//! position and with the message its `// expect:` header states; every good file loads; no
//! prefix of a valid file panics the parser or validator.

use std::path::PathBuf;

fn data(dir: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_default())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    v.sort();
    v
}

#[test]
fn bad_files_fail_where_and_how_they_say() {
    let files = data("bad");
    assert!(files.len() >= 20, "{} bad files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let expect = text
            .lines()
            .find_map(|l| l.strip_prefix("// expect: "))
            .expect("expect header");
        let (pos, msg) = expect.split_once(' ').expect("LINE:COL MESSAGE");
        let help = text.lines().find_map(|l| l.strip_prefix("// help: "));
        let err = match scenarios::parse_str(&text, "f.ron") {
            Ok(_) => panic!("{}: accepted", path.display()),
            Err(e) => e,
        };
        let p = err.position.expect("a position");
        assert_eq!(
            format!("{}:{}", p.line, p.col),
            pos,
            "{}: {err}",
            path.display()
        );
        assert!(
            err.message.contains(msg),
            "{}: message `{}` lacks `{msg}`",
            path.display(),
            err.message
        );
        if let Some(h) = help {
            assert!(
                err.help.as_deref().unwrap_or("").contains(h),
                "{}: help {:?} lacks `{h}`",
                path.display(),
                err.help
            );
        }
        // The span points into the text, at the stated position.
        let span = err.span.expect("a span");
        assert!(span.start <= text.len() && span.end <= text.len());
        assert_eq!(scenarios::line_col(&text, span.start), (p.line, p.col));
    }
}

#[test]
fn good_files_load() {
    let files = data("good");
    assert!(files.len() >= 3);
    for path in files {
        if let Err(e) = scenarios::load(&path) {
            panic!("{e}");
        }
    }
}

#[test]
fn no_prefix_of_a_valid_file_panics() {
    for path in data("good") {
        let text = std::fs::read_to_string(&path).expect("readable");
        for (cut, _) in text.char_indices() {
            let prefix = &text[..cut];
            let r = scenarios::parse_str(prefix, "prefix.ron");
            // Dropping only trailing blanks leaves a valid file; anything shorter is incomplete.
            if prefix.trim_end() != text.trim_end() {
                assert!(
                    r.is_err(),
                    "{} accepted a strict prefix of length {cut}",
                    path.display()
                );
            }
        }
    }
}
