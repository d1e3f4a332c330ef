//! The two faces the report is set in, DejaVu Sans and DejaVu Sans Bold, compiled into the
//! binary (no system font is read): text measurement, glyph encoding and, once the pages are
//! drawn, the subset of each face the text used, embedded as a CID font with a ToUnicode map
//! so that the text extracts.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use super::PdfError;
use super::canvas::{Ids, deflate};

const REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Glyphs are addressed by their id in the subset (Identity-H encoding, two bytes each).
const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Weight {
    Regular,
    Bold,
}

/// A face, and the glyphs of it the document has used so far.
pub(super) struct Font {
    face: Face<'static>,
    data: &'static [u8],
    /// The name in the PDF: a subset tag and the PostScript name (`VGLREG+DejaVuSans`).
    name: &'static str,
    /// The name pages refer to the font by (`/F1`).
    pub(super) resource: Name<'static>,
    /// Glyph ids of the face → glyph ids of the subset, in order of first use.
    used: GlyphRemapper,
    /// The character each glyph of the subset was first used for.
    text_of: BTreeMap<u16, char>,
    /// Drawn for a character the face lacks.
    replacement: GlyphId,
}

impl Font {
    fn load(
        data: &'static [u8],
        name: &'static str,
        resource: &'static [u8],
    ) -> Result<Self, PdfError> {
        let face = Face::parse(data, 0)?;
        let replacement = face.glyph_index('?').unwrap_or(GlyphId(0));
        Ok(Self {
            face,
            data,
            name,
            resource: Name(resource),
            used: GlyphRemapper::new(),
            text_of: BTreeMap::new(),
            replacement,
        })
    }

    /// The width of `text` set at `size` points, in points.
    pub(super) fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text.chars().map(|c| self.advance(self.glyph(c).0)).sum();
        units * size / self.units_per_em()
    }

    /// `text` as the two-byte glyph ids of the subset, recording the glyphs as used.
    pub(super) fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut encoded = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let (glyph, drawn) = self.glyph(c);
            let id = self.used.remap(glyph.0);
            self.text_of.entry(id).or_insert(drawn);
            encoded.extend_from_slice(&id.to_be_bytes());
        }
        encoded
    }

    /// The glyph for `c`, and the character it shows: a control character (a newline in a
    /// name) is drawn as a space, one the face lacks as a question mark.
    fn glyph(&self, c: char) -> (GlyphId, char) {
        let c = if c.is_control() { ' ' } else { c };
        match self.face.glyph_index(c) {
            Some(glyph) => (glyph, c),
            None => (self.replacement, '?'),
        }
    }

    fn advance(&self, glyph: GlyphId) -> f32 {
        f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0))
    }

    fn units_per_em(&self) -> f32 {
        f32::from(self.face.units_per_em().max(1))
    }

    /// Font units → the 1/1000 em PDF font metrics are given in.
    fn to_pdf_units(&self, value: f32) -> f32 {
        value * 1000.0 / self.units_per_em()
    }

    /// Writes the font as a Type 0 font under `id`, with the subset of the glyphs used.
    pub(super) fn embed(&self, pdf: &mut Pdf, ids: &mut Ids, id: Ref) -> Result<(), PdfError> {
        let (cid_font, descriptor, program, to_unicode) =
            (ids.next(), ids.next(), ids.next(), ids.next());
        pdf.type0_font(id)
            .base_font(Name(self.name.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_font)
            .to_unicode(to_unicode);
        self.write_cid_font(pdf, cid_font, descriptor);
        self.write_descriptor(pdf, descriptor, program);
        let subset = subsetter::subset(self.data, 0, &self.used)?;
        pdf.stream(program, &deflate(&subset))
            .filter(Filter::FlateDecode)
            .pair(
                Name(b"Length1"),
                i32::try_from(subset.len()).unwrap_or(i32::MAX),
            );
        pdf.stream(to_unicode, &deflate(&self.to_unicode()))
            .filter(Filter::FlateDecode);
        Ok(())
    }

    fn write_cid_font(&self, pdf: &mut Pdf, id: Ref, descriptor: Ref) {
        let widths: Vec<f32> = self
            .used
            .remapped_gids()
            .map(|glyph| self.to_pdf_units(self.advance(GlyphId(glyph))))
            .collect();
        let mut font = pdf.cid_font(id);
        font.subtype(CidFontType::Type2)
            .base_font(Name(self.name.as_bytes()))
            .system_info(IDENTITY)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        font.widths().consecutive(0, widths);
        font.finish();
    }

    fn write_descriptor(&self, pdf: &mut Pdf, id: Ref, program: Ref) {
        let bbox = self.face.global_bounding_box();
        let scaled = |value: i16| self.to_pdf_units(f32::from(value));
        let ascent = scaled(self.face.ascender());
        pdf.font_descriptor(id)
            .name(Name(self.name.as_bytes()))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                scaled(bbox.x_min),
                scaled(bbox.y_min),
                scaled(bbox.x_max),
                scaled(bbox.y_max),
            ))
            .italic_angle(self.face.italic_angle())
            .ascent(ascent)
            .descent(scaled(self.face.descender()))
            .cap_height(self.face.capital_height().map_or(ascent, scaled))
            .stem_v(if self.face.is_bold() { 140.0 } else { 80.0 })
            .font_file2(program);
    }

    /// The ToUnicode map: which character each glyph of the subset stands for.
    fn to_unicode(&self) -> Vec<u8> {
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
        for (&glyph, &c) in &self.text_of {
            cmap.pair(glyph, c);
        }
        cmap.finish().into_vec()
    }
}

/// The regular and the bold face.
pub(super) struct Fonts {
    regular: Font,
    bold: Font,
}

impl Fonts {
    pub(super) fn load() -> Result<Self, PdfError> {
        Ok(Self {
            regular: Font::load(REGULAR, "VGLREG+DejaVuSans", b"F1")?,
            bold: Font::load(BOLD, "VGLBLD+DejaVuSans-Bold", b"F2")?,
        })
    }

    pub(super) fn get(&self, weight: Weight) -> &Font {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    pub(super) fn get_mut(&mut self, weight: Weight) -> &mut Font {
        match weight {
            Weight::Regular => &mut self.regular,
            Weight::Bold => &mut self.bold,
        }
    }

    pub(super) fn all(&self) -> [&Font; 2] {
        [&self.regular, &self.bold]
    }
}
