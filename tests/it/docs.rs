//! The README and docs/ run as written: every `console` block's commands are run with the
//! `hasim` just built, and their output compared with the block (trycmd; `...` marks output
//! left out, `console,ignore` a block that is not run). `TRYCMD=overwrite` rewrites them.

#[test]
fn readme_and_docs_commands_print_what_they_show() {
    trycmd::TestCases::new()
        .register_bin("hasim", std::path::Path::new(env!("CARGO_BIN_EXE_hasim")))
        .case("README.md")
        .case("docs/*.md");
}

/// The pictures README.md and docs/ embed, each with the scenario and chart it is drawn from
/// (`docs/regenerate-pictures.sh` writes them).
const PICTURES: [(&str, &str, &str); 1] = [(
    "docs/web-tier-timeline.png",
    "scenarios/web-tier.ron",
    "timeline",
)];

/// Every embedded picture is what hasim draws now, byte for byte (charts are deterministic), and
/// every picture a page embeds is one of them: none is stale, none is drawn by hand.
#[test]
fn embedded_pictures_are_what_hasim_draws_now() {
    let mut pages = vec![super::repo("README.md")];
    for e in std::fs::read_dir(super::repo("docs")).expect("docs") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("page");
        for (i, _) in text.match_indices("![") {
            let rest = &text[i..];
            let link = rest
                .find("](")
                .and_then(|a| rest[a + 2..].find(')').map(|b| &rest[a + 2..a + 2 + b]))
                .expect("an image link");
            let rel = page
                .parent()
                .expect("dir")
                .join(link)
                .strip_prefix(super::root())
                .expect("inside the repository")
                .to_string_lossy()
                .into_owned();
            assert!(
                PICTURES.iter().any(|(p, _, _)| *p == rel),
                "{}: {rel} is not drawn by docs/regenerate-pictures.sh",
                page.display()
            );
        }
    }
    for (picture, scenario, chart) in PICTURES {
        let loaded = super::load(scenario);
        let r = hasim::Run::new(&loaded).execute().0;
        let charts =
            hasim::visual::run_charts(&r, reports::charts::ChartFormat::Png).expect("charts");
        let drawn = &charts
            .iter()
            .find(|c| c.name == chart)
            .expect("the chart")
            .bytes;
        let checked_in = std::fs::read(super::repo(picture)).expect("picture");
        assert!(
            *drawn == checked_in,
            "{picture} is stale: run `bash docs/regenerate-pictures.sh`"
        );
    }
}
