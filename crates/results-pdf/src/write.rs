//! The PDF file itself: one A4 page whose content stream sets the laid-out
//! lines in Helvetica, plus a clickable area over the results link.
//!
//! Everything written is a function of the lines and the link alone: object
//! numbers are fixed, there is no document ID, no creation date and no
//! producer, and the content stream is stored uncompressed. That is what makes
//! the output byte-stable and lets [`crate::text_of`] read it back.

use pdf_writer::types::{ActionType, AnnotationType};
use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str};

use crate::layout::{FIRST_BASELINE, Line, MARGIN_LEFT, PAGE_HEIGHT, PAGE_WIDTH};
use crate::winansi::Font;

const CATALOG: Ref = Ref::new(1);
const PAGES: Ref = Ref::new(2);
const PAGE: Ref = Ref::new(3);
const CONTENT: Ref = Ref::new(4);
const FONT_REGULAR: Ref = Ref::new(5);
const FONT_BOLD: Ref = Ref::new(6);
/// The link areas take the numbers from here on, one per line of the link.
const FIRST_ANNOTATION: i32 = 7;

/// How far a link's clickable area reaches below the baseline and above
/// the font size, so descenders and accents are inside it.
const LINK_BELOW: f32 = 3.0;
const LINK_ABOVE: f32 = 2.0;

/// A complete PDF file showing `lines`, with the link lines pointing at `url`.
pub(crate) fn pdf(lines: &[Line], url: &str) -> Vec<u8> {
    let placed = place(lines);
    let links = link_rects(&placed);
    let annotation_ids: Vec<Ref> = (0..links.len())
        .map(|i| Ref::new(FIRST_ANNOTATION + i as i32))
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(CATALOG).pages(PAGES);
    pdf.pages(PAGES).kids([PAGE]).count(1);
    write_page(&mut pdf, &annotation_ids);
    pdf.stream(CONTENT, &content(&placed));
    write_font(&mut pdf, FONT_REGULAR, Font::Regular);
    write_font(&mut pdf, FONT_BOLD, Font::Bold);
    for (id, rect) in annotation_ids.iter().zip(links) {
        write_link(&mut pdf, *id, rect, url);
    }
    pdf.finish()
}

/// A line with the baseline it sits on.
struct Placed<'a> {
    line: &'a Line,
    baseline: f32,
}

fn place(lines: &[Line]) -> Vec<Placed<'_>> {
    let mut baseline = FIRST_BASELINE;
    lines
        .iter()
        .map(|line| {
            baseline -= line.advance;
            Placed { line, baseline }
        })
        .collect()
}

fn write_page(pdf: &mut Pdf, annotations: &[Ref]) {
    let mut page = pdf.page(PAGE);
    page.parent(PAGES)
        .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
        .contents(CONTENT);
    if !annotations.is_empty() {
        page.annotations(annotations.iter().copied());
    }
    let mut resources = page.resources();
    let mut fonts = resources.fonts();
    fonts.pair(Name(Font::Regular.resource_name()), FONT_REGULAR);
    fonts.pair(Name(Font::Bold.resource_name()), FONT_BOLD);
}

/// A standard Type1 font: not embedded, so only its name and encoding.
fn write_font(pdf: &mut Pdf, id: Ref, font: Font) {
    pdf.type1_font(id)
        .base_font(Name(font.base_font()))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
}

/// The content stream: one text object, each line placed with its own text
/// matrix (so a line's position never depends on the previous one's), the
/// font set only when it changes.
fn content(placed: &[Placed]) -> Vec<u8> {
    let mut content = Content::new();
    content.begin_text();
    let mut current: Option<(Font, f32)> = None;
    for Placed { line, baseline } in placed {
        let Some(first) = line.spans.first() else {
            continue;
        };
        if first.text.is_empty() && line.spans.len() == 1 {
            // A blank line between paragraphs: nothing to show.
            continue;
        }
        content.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN_LEFT, *baseline]);
        for span in &line.spans {
            if current != Some((span.font, line.size)) {
                content.set_font(Name(span.font.resource_name()), line.size);
                current = Some((span.font, line.size));
            }
            content.show(Str(&span.text));
        }
    }
    content.end_text();
    content.finish().into_vec()
}

/// The clickable area over the link part of each link line.
fn link_rects(placed: &[Placed]) -> Vec<Rect> {
    placed
        .iter()
        .filter(|p| p.line.is_link)
        .filter_map(|Placed { line, baseline }| {
            let (link, before) = line.spans.split_last()?;
            let start: f32 = before
                .iter()
                .map(|s| s.font.width(&s.text, line.size))
                .sum();
            let x = MARGIN_LEFT + start;
            let width = link.font.width(&link.text, line.size);
            Some(Rect::new(
                x,
                baseline - LINK_BELOW,
                x + width,
                baseline + line.size + LINK_ABOVE,
            ))
        })
        .collect()
}

/// A borderless link annotation that opens `url`.
fn write_link(pdf: &mut Pdf, id: Ref, rect: Rect, url: &str) {
    let mut annotation = pdf.annotation(id);
    annotation
        .subtype(AnnotationType::Link)
        .rect(rect)
        .border(0.0, 0.0, 0.0, None);
    annotation
        .action()
        .action_type(ActionType::Uri)
        .uri(Str(url.as_bytes()));
}
