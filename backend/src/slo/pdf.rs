// Placeholder until the PDF renderer lands (slo-pdf branch); never committed.
pub fn render(_report: &vigil_shared::slo::SlaReport) -> Result<Vec<u8>, String> {
    Err("the PDF renderer is not merged yet".into())
}
