//! The report's look: its colours and the text styles it is set in.

use super::canvas::{Color, TextStyle};
use super::fonts::Weight;

pub(super) const TEXT: Color = Color::hex(0x1f2328);
pub(super) const MUTED: Color = Color::hex(0x656d76);
pub(super) const ACCENT: Color = Color::hex(0x0b5cad);
pub(super) const RULE: Color = Color::hex(0xd0d7de);
pub(super) const GRID: Color = Color::hex(0xe6e9ec);
pub(super) const HEADER_FILL: Color = Color::hex(0xe9eef4);
pub(super) const STRIPE_FILL: Color = Color::hex(0xf6f8fa);
pub(super) const MET: Color = Color::hex(0x1a7f37);
pub(super) const BREACHED: Color = Color::hex(0xcf222e);
pub(super) const NO_DATA: Color = Color::hex(0x8c959f);
pub(super) const WARNING: Color = Color::hex(0xbf6a02);
pub(super) const WHITE: Color = Color::hex(0xffffff);

pub(super) const TITLE: TextStyle = TextStyle::new(Weight::Bold, 26.0, TEXT);
pub(super) const H1: TextStyle = TextStyle::new(Weight::Bold, 15.0, ACCENT);
pub(super) const H2: TextStyle = TextStyle::new(Weight::Bold, 11.5, TEXT);
pub(super) const BODY: TextStyle = TextStyle::new(Weight::Regular, 9.5, TEXT);
pub(super) const LABEL: TextStyle = TextStyle::new(Weight::Regular, 7.0, MUTED);
pub(super) const FIGURE: TextStyle = TextStyle::new(Weight::Bold, 10.0, TEXT);
pub(super) const TABLE: TextStyle = TextStyle::new(Weight::Regular, 7.5, TEXT);
pub(super) const SMALL: TextStyle = TextStyle::new(Weight::Regular, 7.0, MUTED);
pub(super) const FOOTER: TextStyle = TextStyle::new(Weight::Regular, 7.5, MUTED);
