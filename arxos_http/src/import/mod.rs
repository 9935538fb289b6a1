//! Integrations: importing Brick and Haystack models (`arxos import`,
//! `POST /api/buildings/{b}/import`), exporting Brick (`arxos export`), and ingesting sensor
//! readings (`POST /api/buildings/{b}/readings`). Parsing is pure ([`brick`], [`haystack`],
//! [`model`]); the writes go through the extension's `arxos.import_batch` and
//! `arxos.record_batch` (docs/integrations.md).

pub mod brick;
pub mod cli;
pub mod export;
pub mod haystack;
pub mod model;
pub mod routes;
pub mod sanitize;
pub mod write;

use clap::ValueEnum;

pub use model::Plan;

/// The source formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Brick in Turtle (or N-Triples).
    Brick,
    /// Project Haystack: JSON (Hayson grid or array, or Haystack 3 JSON) or Zinc.
    #[value(alias = "zinc", alias = "hayson")]
    Haystack,
}

impl Format {
    /// Guesses the format from the content: JSON or Zinc is Haystack, anything else Turtle.
    pub fn detect(input: &[u8]) -> Format {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        // The blank lines before a Zinc grid's `ver:` may be many (found by a review: 64 of
        // them made a Zinc file Turtle); the 64 bytes looked at start after them. Lossy: they
        // may end inside a character.
        let blank = input
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        let head = &input[blank..];
        if haystack::is_zinc(&String::from_utf8_lossy(&head[..head.len().min(64)])) {
            return Format::Haystack;
        }
        match input.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => Format::Haystack,
            _ => Format::Brick,
        }
    }

    pub fn parse_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "brick" | "turtle" | "ttl" => Some(Format::Brick),
            "haystack" | "hayson" | "json" | "zinc" => Some(Format::Haystack),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot parse the file: {0}")]
    Syntax(String),
    #[error("{0}")]
    Format(String),
}

/// Parses a file into the plan of its writes. A UTF-8 byte order mark (which editors on
/// Windows put first) is skipped.
pub fn plan(input: &[u8], format: Option<Format>) -> Result<Plan, ImportError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    // Nothing at all is a mistake (a wrong file, an empty upload), not a model with no entities.
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Format("the file is empty".into()));
    }
    // A format given that the content contradicts: say what the content looks like, not only
    // the parser's first error (found by an audit: `format=haystack` on a Turtle file answered
    // "expected value at line 1 column 1").
    let mismatch = |given: &'static str, looks: &'static str, other: &'static str| {
        move |e: ImportError| {
            match e {
            ImportError::Syntax(message) => ImportError::Syntax(format!(
                "{message} (read as {given}, as the format given said; the file looks like {looks}: give format={other} (--format {other} on the command line), or leave the format out to guess)"
            )),
            other => other,
        }
        }
    };
    let model = match (format, Format::detect(input)) {
        (Some(Format::Brick), Format::Haystack) => {
            brick::parse(input).map_err(mismatch("Brick (Turtle)", "Haystack (JSON or Zinc)", "haystack"))?
        }
        (Some(Format::Haystack), Format::Brick) => {
            haystack::parse(input).map_err(mismatch("Haystack", "Turtle", "brick"))?
        }
        (Some(Format::Brick), _) => brick::parse(input)?,
        (Some(Format::Haystack), _) => haystack::parse(input)?,
        (None, detected) => match detected {
            // A Turtle file may open with `[` too (a blank node subject, `[] <p> "o" .`): one
            // that is no JSON is tried as Turtle before the JSON error is answered (found by an
            // audit: a valid Turtle file sent as text/turtle was refused as JSON).
            Format::Haystack => match haystack::parse(input) {
                Err(ImportError::Syntax(message)) if opens_with_bracket(input) => brick::parse(input)
                    .map_err(|_| {
                        ImportError::Syntax(format!(
                            "{message} (the file was read as JSON, since it opens with [; if it is Turtle, give format=brick (--format brick on the command line))"
                        ))
                    })?,
                other => other?,
            },
            // Anything that is neither JSON nor Zinc is read as Turtle: when that fails, say so,
            // so that a Trio, CSV or RDF/XML file is not answered with a Turtle syntax error
            // alone (found by a review).
            Format::Brick => brick::parse(input).map_err(|e| match e {
                ImportError::Syntax(message) => ImportError::Syntax(format!(
                    "{message} (the file was read as Turtle, since it is neither JSON nor Zinc: \
                     the import takes Brick in Turtle or N-Triples, and Haystack as JSON or Zinc{})",
                    unsupported_hint(input)
                )),
                other => other,
            })?,
        },
    };
    Ok(model.plan())
}

/// Whether the first character that is not white space is `[`.
fn opens_with_bracket(input: &[u8]) -> bool {
    input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// What a file that failed to parse as Turtle looks like, when it looks like a format the
/// import does not take.
fn unsupported_hint(input: &[u8]) -> &'static str {
    let head = String::from_utf8_lossy(&input[..input.len().min(512)]);
    let head = head.trim_start();
    // The first line that is not a comment (`# generated …, by …` opens many Turtle files),
    // and not a Turtle statement (one ending in ` .`).
    let first = head
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let turtle_like =
        first.is_some_and(|l| l.ends_with('.') || l.starts_with('@') || l.contains('<'));
    if head.starts_with("<?xml") || head.contains("<rdf:RDF") {
        "; this looks like RDF/XML: convert it to Turtle (rdflib, `riot --output=turtle`)"
    } else if turtle_like {
        ""
    } else if first.is_some_and(|l| l.contains(':')) && head.contains("\n---") {
        "; this looks like Trio: convert it to Zinc or JSON"
    } else if first.is_some_and(|l| l.contains(',')) {
        "; this looks like CSV: convert it to Zinc or JSON"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_refused() {
        for empty in [&b""[..], b"  \n\t", b"\xEF\xBB\xBF\n"] {
            let err = plan(empty, None).unwrap_err();
            assert_eq!(err.to_string(), "the file is empty");
        }
        assert!(plan(b"[]", None).is_ok());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let ttl = "\u{feff}@prefix brick: <https://brickschema.org/schema/Brick#> .\n<urn:a> a brick:AHU .\n";
        let plan = plan(ttl.as_bytes(), None).unwrap();
        assert_eq!(plan.objects.len(), 1);
        let json = "\u{feff}[{\"id\": \"r:a\", \"site\": \"m:\"}]";
        assert_eq!(Format::detect(json.as_bytes()), Format::Haystack);
        let plan = super::plan(json.as_bytes(), None).unwrap();
        assert_eq!(plan.objects.len(), 1);
        let zinc = "\u{feff}ver:\"3.0\"\nid,site\n@a,M\n";
        assert_eq!(super::plan(zinc.as_bytes(), None).unwrap().objects.len(), 1);
    }

    #[test]
    fn a_file_of_another_format_is_named() {
        for (input, says) in [
            (
                &b"<?xml version=\"1.0\"?>\n<rdf:RDF></rdf:RDF>\n"[..],
                "RDF/XML",
            ),
            (b"dis:\"Site\"\nsite\n---\ndis:\"AHU\"\nequip\n", "Trio"),
            (b"id,dis,site\n@a,Site,M\n", "CSV"),
        ] {
            let message = plan(input, None).unwrap_err().to_string();
            assert!(
                message.contains("read as Turtle") && message.contains(says),
                "{message}"
            );
        }
        // Turtle with a comment or a statement holding commas is not called CSV
        for input in [
            &b"# generated: 2024-01-01, by brickify\n@prefix ex: <urn:ex#> .\nex:a ex:b , .\n"[..],
            b"ex:a a brick:AHU, brick:Fan .\n",
        ] {
            let message = plan(input, None).unwrap_err().to_string();
            assert!(!message.contains("CSV"), "{message}");
        }
        // named explicitly, the parser's message alone
        let message = plan(b"id,dis\n", Some(Format::Brick))
            .unwrap_err()
            .to_string();
        assert!(!message.contains("read as Turtle"), "{message}");
    }

    #[test]
    fn formats_are_guessed_from_content() {
        assert_eq!(Format::detect(b"  {\"rows\": []}"), Format::Haystack);
        assert_eq!(Format::detect(b"[]"), Format::Haystack);
        assert_eq!(Format::detect(b"@prefix brick: <x> ."), Format::Brick);
        // Turtle that opens with a blank node: not JSON, so read as Turtle
        let ttl =
            "[] <urn:p#label> \"1\" .\n<urn:e#a> a <https://brickschema.org/schema/Brick#AHU> .\n";
        let read = plan(ttl.as_bytes(), None).expect("read as Turtle");
        assert_eq!(read.objects.len(), 1, "{:?}", read.objects);
        let bad = plan(b"[1, 2", None).unwrap_err().to_string();
        assert!(bad.contains("if it is Turtle, give format=brick"), "{bad}");
        assert_eq!(Format::parse_name("TTL"), Some(Format::Brick));
        assert_eq!(Format::parse_name("zinc"), Some(Format::Haystack));
        assert_eq!(Format::parse_name("csv"), None);
        assert_eq!(Format::detect(b"ver:\"3.0\"\nid\n@a\n"), Format::Haystack);
        let blank_lines_first = format!("{}ver:\"3.0\"\nid\n@a\n", "\r\n".repeat(100));
        assert_eq!(
            Format::detect(blank_lines_first.as_bytes()),
            Format::Haystack
        );
        let cut = format!("ver:\"3.0\" dis:\"{}\"\nid\n@a\n", "é".repeat(40));
        assert_eq!(
            Format::detect(cut.as_bytes()),
            Format::Haystack,
            "a character cut at byte 64"
        );
    }

    /// A format given that the content contradicts is named in the error, with the fix.
    #[test]
    fn a_format_the_content_contradicts_is_said() {
        let turtle =
            b"@prefix brick: <https://brickschema.org/schema/Brick#> .\n<urn:f> a brick:Floor .\n";
        let Err(e) = plan(turtle, Some(Format::Haystack)) else {
            panic!("Turtle read as Haystack");
        };
        let message = e.to_string();
        assert!(
            message.contains("looks like Turtle: give format=brick"),
            "{message}"
        );
        let Err(e) = plan(br#"{"rows": [}"#, Some(Format::Brick)) else {
            panic!("JSON read as Turtle");
        };
        let message = e.to_string();
        assert!(message.contains("give format=haystack"), "{message}");
    }
}
