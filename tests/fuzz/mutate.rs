//! Mutations of example files: structure-aware (numbers, strings and variant names swapped for
//! hostile ones, lines deleted, duplicated, moved or cut) and byte-level.

use crate::Rng;
use crate::generate;

/// Byte spans of tokens of one kind.
type Spans = Vec<(usize, usize)>;

/// Spans of number literals, quoted strings and capitalised identifiers in `text`.
fn tokens(text: &str) -> (Spans, Spans, Spans) {
    let b = text.as_bytes();
    let (mut nums, mut strs, mut idents) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            strs.push((start, i));
        } else if c.is_ascii_digit() || (c == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            nums.push((start, i));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if c.is_ascii_uppercase() {
                idents.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    (nums, strs, idents)
}

/// `text` with one to four structure-aware mutations.
pub fn text(rng: &mut Rng, base: &str) -> String {
    let mut t = base.to_string();
    for _ in 0..1 + rng.below(4) {
        t = once(rng, &t);
    }
    t
}

fn once(rng: &mut Rng, t: &str) -> String {
    let (nums, strs, idents) = tokens(t);
    let splice = |(a, b): (usize, usize), with: &str| format!("{}{with}{}", &t[..a], &t[b..]);
    match rng.below(10) {
        0..=2 if !nums.is_empty() => splice(*rng.pick(&nums), &generate::hostile_number(rng)),
        3..=4 if !strs.is_empty() => {
            let s = if rng.chance(0.6) {
                generate::duration(rng)
            } else {
                generate::name(rng)
            };
            splice(*rng.pick(&strs), &format!("\"{}\"", generate::escape(&s)))
        }
        5 if !idents.is_empty() => splice(
            *rng.pick(&idents),
            generate::VARIANTS[rng.below(generate::VARIANTS.len())],
        ),
        6 => {
            // Delete, duplicate or move a line.
            let mut lines: Vec<&str> = t.lines().collect();
            if lines.is_empty() {
                return String::new();
            }
            let i = rng.below(lines.len());
            match rng.below(3) {
                0 => {
                    lines.remove(i);
                }
                1 => lines.insert(i, lines[i]),
                _ => {
                    let l = lines.remove(i);
                    let j = rng.below(lines.len() + 1);
                    lines.insert(j, l);
                }
            }
            lines.join("\n")
        }
        7 => {
            // Cut at a character boundary.
            let mut at = rng.below(t.len() + 1);
            while !t.is_char_boundary(at) {
                at -= 1;
            }
            t[..at].to_string()
        }
        8 if !idents.is_empty() => {
            // A generated component or value where a variant was.
            let (a, _) = *rng.pick(&idents);
            let snippet = generate::snippet(rng);
            format!("{}{snippet}, {}", &t[..a], &t[a..])
        }
        _ if !nums.is_empty() => splice(*rng.pick(&nums), &generate::number(rng)),
        _ => t.to_string(),
    }
}

/// `text` with a few bytes flipped, inserted or removed (possibly no longer UTF-8: then the
/// lossy text, as a user's editor might save it).
pub fn bytes(rng: &mut Rng, base: &str) -> String {
    let mut b = base.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        if b.is_empty() {
            break;
        }
        let i = rng.below(b.len());
        match rng.below(4) {
            0 => b[i] ^= 1 << rng.below(8),
            1 => b[i] = *rng.pick(b"()[]{},:\"\\0123456789.-_eE \n\x1b\x00\x7f\xff"),
            2 => {
                b.remove(i);
            }
            _ => b.insert(i, (rng.next_u64() & 0xff) as u8),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}
