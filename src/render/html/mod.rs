//! The HTML report of `elfmaps report`: one self-contained page to look at a process's
//! address space (a strip of its mappings, a treemap, a sortable table), at what
//! changed between two saved reports, or at the memory of the whole machine.
//!
//! The page is one file that fetches nothing: its style sheet (`report.css`) and
//! script (`report.js`), both in this folder and built into the binary with
//! `include_str!`, are inline, and a Content-Security-Policy forbids every fetch and
//! lets run only that script and style, named by their SHA-256 hashes. Its data is the
//! JSON document the matching `--json` prints, embedded byte for byte but for two
//! escapes that keep an HTML parser inside the data ([`embed_json`]), in
//! `<script type="application/json" id="elfmaps-data">`; the script reads it from there,
//! so a saved page can be read again by tools. What the page draws, and why it draws
//! the treemap itself rather than with d3-hierarchy, is in docs/report.md.
//!
//! A map page made with `report --symbols` ([`map_with_symbols`]) holds a second
//! document, the process's `symbols --json` cut to fit [`PAGE_LIMIT`]
//! ([`crate::views::symbols::cut`]), in `<script type="application/json"
//! id="elfmaps-symbols">`, from which it drills from an object to its sections and
//! their symbols; other pages have no such element.
//!
//! Pages differ by [`Page`], what their data is: a process (`map --json`), a diff
//! (`diff --json`) or the whole machine (`system --json`: rows keyed by object and kind
//! across processes, drawn as a treemap of object, then kind, and tables of rows and
//! processes, with no address-space strip).

mod palette;
mod sha256;

use std::io::{self, Write};

use crate::report::Report;
use crate::views::diff::Diff;
use crate::views::symbols::Symbols;
use crate::vocab::Kind;

/// The page, with `{{name}}` where [`page`] writes something.
const TEMPLATE: &str = include_str!("report.html");
/// The style sheet (the kinds' colours are appended: [`kind_rules`]).
const STYLE: &str = include_str!("report.css");
/// The script that draws every view from the embedded data.
const SCRIPT: &str = include_str!("report.js");

/// What a page shows: which JSON document its data is, and so which views it draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Page {
    /// A map report (`map --json`): the address-space strip, the treemap of object,
    /// kind and region, the table of objects and kinds.
    Map,
    /// A diff (`diff --json`): what grew and shrank, as a treemap and a table.
    Diff,
    /// The whole machine (`system --json`): a treemap of object, then kind, summed
    /// across processes; the table of its rows (per object and kind, per object, per
    /// kind) and of its processes. No strip: a machine has no one address space.
    System,
}

impl Page {
    /// Its name in the page (`<html data-page="map">`), which the script dispatches on.
    pub fn as_str(self) -> &'static str {
        match self {
            Page::Map => "map",
            Page::Diff => "diff",
            Page::System => "system",
        }
    }
}

/// Writes the page of a map report; `title` names the process or saved input (as the
/// first line of the `map` table: [`super::map::title`]).
pub fn map<W: Write>(report: &Report, title: &str, out: &mut W) -> io::Result<()> {
    let mut data = Vec::new();
    super::json(report, &mut data)?;
    page(Page::Map, title, &data, out)
}

/// The size a page must stay under (docs/report.md): `report --symbols` cuts the
/// symbols it embeds to fit.
pub const PAGE_LIMIT: usize = 2 << 20;

/// Rows per section `report --symbols` tries first; it halves them down to
/// [`SYMBOLS_TOP_LEAST`] until the page fits [`PAGE_LIMIT`].
pub const SYMBOLS_TOP: usize = 64;

/// Rows per section below which `report --symbols` leaves out the least resident
/// objects instead.
pub const SYMBOLS_TOP_LEAST: usize = 8;

/// Writes the page of a map report with the symbols of the process embedded as a
/// second JSON document (`<script type="application/json" id="elfmaps-symbols">`),
/// for the page's drill-down from an object to its sections and their symbols. The
/// symbols are [`cut`](crate::views::symbols::cut) to at most [`SYMBOLS_TOP`] rows
/// per section, halved down to [`SYMBOLS_TOP_LEAST`] until the page is under
/// [`PAGE_LIMIT`]; then the most resident objects that fit are kept. Returns the cut
/// embedded (rows per section, objects left out), or `None` when not even one
/// object fits (the page is then written without symbols).
pub fn map_with_symbols<W: Write>(
    report: &Report,
    symbols: &Symbols,
    title: &str,
    out: &mut W,
) -> io::Result<Option<(usize, usize)>> {
    let mut data = Vec::new();
    super::json(report, &mut data)?;
    let mut plain = Vec::new();
    page(Page::Map, title, &data, &mut plain)?;
    let element = "<script type=\"application/json\" id=\"elfmaps-symbols\"></script>\n".len();
    let room = PAGE_LIMIT.saturating_sub(plain.len() + element);
    let all = symbols.objects.len();
    let embedded = |top: usize, objects: usize| -> io::Result<Vec<u8>> {
        let mut doc = Vec::new();
        super::json(&crate::views::symbols::cut(symbols, top, objects), &mut doc)?;
        Ok(embed_json(&doc))
    };
    let mut top = SYMBOLS_TOP;
    let mut fits = None;
    loop {
        let doc = embedded(top, all)?;
        if doc.len() <= room {
            fits = Some((doc, top, all));
            break;
        }
        if top <= SYMBOLS_TOP_LEAST {
            break;
        }
        top /= 2;
    }
    if fits.is_none() {
        // The most objects that fit: fits(lo) holds, fits(hi) does not.
        let (mut lo, mut hi) = (0, all);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if embedded(top, mid)?.len() <= room {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if lo > 0 {
            fits = Some((embedded(top, lo)?, top, lo));
        }
    }
    match fits {
        Some((doc, top, objects)) => {
            page_with(Page::Map, title, &data, Some(&doc), out)?;
            Ok(Some((top, all - objects)))
        }
        None => {
            out.write_all(&plain)?;
            Ok(None)
        }
    }
}

/// Writes the page of a diff; `title` names the two reports.
pub fn diff<W: Write>(d: &Diff, title: &str, out: &mut W) -> io::Result<()> {
    let mut data = Vec::new();
    super::json(d, &mut data)?;
    page(Page::Diff, title, &data, out)
}

/// Writes a page of kind `kind` whose data is `data`: a JSON document exactly as the
/// `--json` of the command the page shows prints it ([`super::json()`]). `title` is
/// plain text (escaped here). This is the one function every page goes through; a new
/// kind of report needs a [`Page`] and a view in `report.js`, nothing else here.
pub fn page<W: Write>(kind: Page, title: &str, data: &[u8], out: &mut W) -> io::Result<()> {
    page_with(kind, title, &embed_json(data), None, out)
}

/// [`page`], with `data` embedded already ([`embed_json`]) and, when given, a second
/// document `symbols` (embedded) in `<script type="application/json"
/// id="elfmaps-symbols">`. A page without it has no such element.
fn page_with<W: Write>(
    kind: Page,
    title: &str,
    data: &[u8],
    symbols: Option<&[u8]>,
    out: &mut W,
) -> io::Result<()> {
    let style = format!("{STYLE}{}", kind_rules());
    let csp = policy(SCRIPT, &style);
    let mut rest = TEMPLATE;
    while let Some(open) = rest.find("{{") {
        out.write_all(&rest.as_bytes()[..open])?;
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(io::Error::other("report.html: an unclosed {{"));
        };
        match &after[..close] {
            "page" => out.write_all(kind.as_str().as_bytes())?,
            "csp" => out.write_all(csp.as_bytes())?,
            "version" => out.write_all(env!("CARGO_PKG_VERSION").as_bytes())?,
            "title" => out.write_all(html_text(title).as_bytes())?,
            "style" => out.write_all(style.as_bytes())?,
            "kinds" => out.write_all(kind_list().as_bytes())?,
            "data" => out.write_all(data)?,
            "symbols" => {
                if let Some(doc) = symbols {
                    out.write_all(b"<script type=\"application/json\" id=\"elfmaps-symbols\">")?;
                    out.write_all(doc)?;
                    out.write_all(b"</script>\n")?;
                }
            }
            "script" => out.write_all(SCRIPT.as_bytes())?,
            other => {
                return Err(io::Error::other(format!(
                    "report.html: unknown placeholder {other:?}"
                )));
            }
        }
        rest = &after[close + 2..];
    }
    out.write_all(rest.as_bytes())
}

/// The Content-Security-Policy: nothing may be fetched or connected to (`default-src
/// 'none'`, and the two directives that do not fall back to it), and only the page's
/// own script and style run, named by hash (an injected `<script>` would not).
fn policy(script: &str, style: &str) -> String {
    let hash = |s: &str| sha256::base64(&sha256::sha256(s.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; base-uri 'none'; form-action 'none'",
        hash(script),
        hash(style)
    )
}

/// JSON made safe inside a `<script>` element, and still the same JSON: `</` is
/// written `<\/` (so no `</script>` in a string ends the element) and `<!` is written
/// `<\u0021` (so no `<!--` in a string puts the HTML parser in the state where the
/// element's own end tag would not end it). Both are JSON escapes of the same
/// characters, and `<` occurs in JSON only inside strings, so the text parses to the
/// same value; serde_json never writes `\/` or `\u0021`, so the two replacements are
/// undone exactly by replacing back.
pub fn embed_json(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        out.push(b);
        if b == b'<' {
            match data.get(i + 1) {
                Some(b'/') => {
                    out.extend_from_slice(b"\\/");
                    i += 1;
                }
                Some(b'!') => {
                    out.extend_from_slice(b"\\u0021");
                    i += 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

/// Text for an HTML element or attribute: the printed form of the one escaping rule
/// ([`crate::vocab::escape::escape_str`]: control characters, line separators and
/// bidirectional controls as `\x1b`, `\u{202e}`, ...), then `&`, `<`, `>`, `"` and `'`
/// as references. A title made for the terminal ([`super::map::title`]) is escaped
/// already, which changes nothing: the rule is idempotent.
fn html_text(s: &str) -> String {
    let printed = crate::vocab::escape::escape_str(s);
    let mut out = String::with_capacity(printed.len());
    for c in printed.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The kinds, in the order tables list them, as a JSON array of names (the legend's
/// order).
fn kind_list() -> String {
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

/// The colour of every kind, as CSS rules (`.k-text{--k:#00784b}`), from
/// [`palette::PALETTE`], and the colours of what grew and shrank.
fn kind_rules() -> String {
    let mut css = String::new();
    for (kind, colour) in palette::PALETTE {
        css.push_str(&format!(
            ".k-{}{{--k:{}}}\n",
            kind.as_str(),
            palette::hex(colour)
        ));
    }
    css.push_str(&format!(
        ":root{{--grew:{};--shrank:{}}}\n",
        palette::hex(palette::GREW),
        palette::hex(palette::SHRANK)
    ));
    css
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Undoes [`embed_json`], as a tool that reads a saved page would.
    fn unembed(text: &[u8]) -> Vec<u8> {
        let s = String::from_utf8(text.to_vec()).unwrap();
        s.replace("<\\/", "</")
            .replace("<\\u0021", "<!")
            .into_bytes()
    }

    #[test]
    fn embedded_json_cannot_end_its_element_and_parses_the_same() {
        let value = serde_json::json!({
            "path": "/tmp/</script><script>alert(1)</script>",
            "other": "<!-- <script> a\\</b <\\/ <\\u0021",
            "n": 1
        });
        let mut data = Vec::new();
        crate::render::json(&value, &mut data).unwrap();
        let embedded = embed_json(&data);
        let text = String::from_utf8(embedded.clone()).unwrap();
        assert!(!text.contains("</") && !text.contains("<!"), "{text}");
        let back: serde_json::Value = serde_json::from_slice(&embedded).unwrap();
        assert_eq!(back, value);
        assert_eq!(unembed(&embedded), data);
    }

    #[test]
    fn the_page_has_every_part_and_no_placeholder_left() {
        let mut out = Vec::new();
        page(
            Page::Diff,
            "a <b> & \"c\"\u{1b}\\",
            b"{\"x\":\"</\"}\n",
            &mut out,
        )
        .unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(!html.contains("{{"), "a placeholder is left");
        assert!(html.contains("<html lang=\"en\" data-page=\"diff\">"));
        assert!(html.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;\\e\\</title>"));
        assert!(html.contains(
            "<script type=\"application/json\" id=\"elfmaps-data\">{\"x\":\"<\\/\"}\n</script>"
        ));
        assert!(html.contains(".k-thread_stack{--k:#f0a587}"));
        // The policy names the script as written in the page.
        let script = &html[html.rfind("<script>").unwrap() + 8..html.rfind("</script>").unwrap()];
        assert_eq!(script, SCRIPT);
        let hash = sha256::base64(&sha256::sha256(script.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        // Nothing is fetched: no URL in the page but the policy's own words.
        for bad in ["http:", "https:", "src=", "href=", "url(", "@import"] {
            assert!(!html.contains(bad), "{bad} in the page");
        }
    }

    #[test]
    fn every_kind_has_a_colour() {
        let css = kind_rules();
        for k in Kind::ALL {
            assert!(css.contains(&format!(".k-{}{{", k.as_str())), "{k}");
        }
    }
}
