//! Dashboards: viewing one (the editor, the list, versions and import live beside it).

pub mod view;
