// Small behaviours htmx does not cover. No inline scripts: the CSP forbids them.

// The declare form asks the rollback question only for a major severity.
function showMajorOnly() {
  const checked = document.querySelector("[data-severity-picker] input[name=severity]:checked");
  const major = checked && (checked.value === "1" || checked.value === "2");
  document.querySelectorAll("[data-major-only]").forEach((el) => {
    el.hidden = !major;
  });
}
document.addEventListener("change", (event) => {
  if (event.target.name === "severity" && event.target.closest("[data-severity-picker]")) showMajorOnly();
});
document.addEventListener("DOMContentLoaded", showMajorOnly);
