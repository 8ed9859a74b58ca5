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

// --- Live updates: server-sent events (htmx's sse extension), polling as the fallback ---------

// A stream opened again by the extension (after an error) starts from what the room shows now,
// not from what it showed when the page loaded; the browser's own reconnect sends Last-Event-ID.
if (window.htmx) {
  htmx.createEventSource = (url) => {
    const shown = document.getElementById("room-rev");
    if (shown && /[?&]rev=/.test(url)) url = url.replace(/([?&]rev=)\d*/, "$1" + encodeURIComponent(shown.value));
    return new EventSource(url, { withCredentials: true });
  };
}

// Each stream's state on its element: a poller marked data-unless-live="<stream id>" stays
// quiet while that stream is open, and takes over when it is not.
document.addEventListener("htmx:sseOpen", (event) => {
  event.target.dataset.live = "open";
});
document.addEventListener("htmx:sseError", (event) => {
  event.target.dataset.live = "closed";
});
document.addEventListener("htmx:sseClose", (event) => {
  event.target.dataset.live = "closed";
  // "reload": the server says the page is out of date beyond patching, or no longer yours to see.
  if (event.detail && event.detail.type === "message") window.location.reload();
});
document.addEventListener("htmx:beforeRequest", (event) => {
  const streamId = event.detail.elt && event.detail.elt.dataset && event.detail.elt.dataset.unlessLive;
  const stream = streamId && document.getElementById(streamId);
  const config = event.detail.requestConfig;
  const trigger = config && config.triggeringEvent;
  const fromStream = trigger && typeof trigger.type === "string" && trigger.type.startsWith("sse:");
  if (stream && stream.dataset.live === "open" && !fromStream) event.preventDefault();
});

// An event the room has already applied (a form's own answer got there first) is skipped.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const shown = document.getElementById("room-rev");
  const brings = Number(event.detail && event.detail.lastEventId);
  if (shown && brings && brings <= Number(shown.value)) event.preventDefault();
});

// Two answers may both bring an entry (a stream event and a form's answer overlap): keep the newest copy.
function dropRepeatedEntries() {
  const seen = new Set();
  document.querySelectorAll("#timeline-entries article.entry[id]").forEach((entry) => {
    if (seen.has(entry.id)) entry.remove();
    else seen.add(entry.id);
  });
}
document.addEventListener("htmx:oobAfterSwap", dropRepeatedEntries);
document.addEventListener("htmx:afterSwap", dropRepeatedEntries);
